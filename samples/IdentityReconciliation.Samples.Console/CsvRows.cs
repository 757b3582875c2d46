using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace IdentityReconciliation.Samples.Console;

/// <summary>One data row of an import file: its line number and its fields, or why it cannot be read.</summary>
internal sealed record CsvRow(int LineNumber, string? Email, string? PhoneNumber, string? Error);

/// <summary>
/// Reads <c>email,phoneNumber</c> rows: comma-separated, fields optionally in double quotes (<c>""</c> for a quote),
/// an empty field for a missing value, blank lines ignored, and an optional header row (<c>email,phoneNumber</c>).
/// </summary>
internal static class CsvRows
{
    /// <summary>
    /// Reads the rows one line at a time, so a file of any size (or a pipe, such as <c>&lt;(zcat orders.csv.gz)</c>) is
    /// never held in memory: only the row being read is.
    /// </summary>
    public static async IAsyncEnumerable<CsvRow> ReadAsync(TextReader reader, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var lineNumber = 0;
        var first = true;
        while (await ReadLineAsync(reader, cancellationToken).ConfigureAwait(false) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var fields = Split(line, out var error);
            if (first)
            {
                first = false;
                if (error is null && IsHeader(fields))
                {
                    continue;
                }
            }

            if (error is not null)
            {
                yield return new CsvRow(lineNumber, null, null, error);
            }
            else if (fields.Count != 2)
            {
                yield return new CsvRow(lineNumber, null, null, string.Create(
                    CultureInfo.InvariantCulture, $"expected 2 fields (email,phoneNumber) but found {fields.Count}."));
            }
            else
            {
                yield return new CsvRow(lineNumber, NullIfEmpty(fields[0]), NullIfEmpty(fields[1]), null);
            }
        }
    }

    /// <summary>
    /// The next line, or <see langword="null"/> at the end. A read that waits (a pipe whose writer is still working) is
    /// left behind when <paramref name="cancellationToken"/> is cancelled: a read from a pipe does not see the token once
    /// it waits in the operating system, so Ctrl+C would otherwise wait for the pipe's next data or its end.
    /// </summary>
    private static async ValueTask<string?> ReadLineAsync(TextReader reader, CancellationToken cancellationToken)
    {
        var read = reader.ReadLineAsync(cancellationToken);
        if (read.IsCompleted)
        {
            return read.Result; // from the reader's buffer: no task allocated for most lines
        }

        var waiting = read.AsTask();
        try
        {
            return await waiting.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The read ends when the pipe gives data or closes, or with the process; its outcome is of no interest then.
            _ = waiting.ContinueWith(static task => _ = task.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }

    private static bool IsHeader(List<string> fields) =>
        fields.Count == 2
        && fields[0].Trim().Equals("email", StringComparison.OrdinalIgnoreCase)
        && (fields[1].Trim().Equals("phoneNumber", StringComparison.OrdinalIgnoreCase) || fields[1].Trim().Equals("phone", StringComparison.OrdinalIgnoreCase));

    private static string? NullIfEmpty(string field) => string.IsNullOrWhiteSpace(field) ? null : field;

    private static List<string> Split(string line, out string? error)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var wasQuoted = false;
        error = null;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c != '"')
                {
                    field.Append(c);
                }
                else if (i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else
                {
                    quoted = false;
                }
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
                wasQuoted = false;
            }
            else if (c == '"' && !wasQuoted && field.ToString().Trim().Length == 0)
            {
                field.Clear();
                quoted = true;
                wasQuoted = true;
            }
            else if (c == '"')
            {
                error = "a double quote inside an unquoted field, or text after a closing quote.";
                return fields;
            }
            else if (wasQuoted && !char.IsWhiteSpace(c))
            {
                error = "text after a closing quote.";
                return fields;
            }
            else if (!wasQuoted)
            {
                field.Append(c);
            }
        }

        if (quoted)
        {
            error = "a quoted field is not closed on its line.";
            return fields;
        }

        fields.Add(field.ToString());
        return fields;
    }
}
