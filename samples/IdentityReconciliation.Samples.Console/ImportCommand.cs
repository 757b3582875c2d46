using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// <c>import FILE.csv [--db FILE]</c>: identifies every <c>email,phoneNumber</c> row in file order as a bulk back-fill
/// (<see cref="IIdentityReconciler.IdentifyManyAsync(IEnumerable{IdentifyRequest}, CancellationToken)"/>: many rows per
/// transaction, exactly as one by one), with a progress bar when a person watches, and prints a summary of what each row
/// did, with the identifiers the guards set aside. Bad rows are reported and skipped; every good row lands.
/// Exit code 0 when every row was imported, 1 when some were rejected (the others were still imported).
/// </summary>
internal static class ImportCommand
{
    public static Command Create(CommandEnvironment environment)
    {
        var file = new Argument<string>("FILE.csv") { Description = "A CSV file of email,phoneNumber rows; a header row is optional; either field may be empty." };
        var db = SampleCommandLine.DatabaseOption();
        var command = new Command("import", "Identifies every row of a CSV file of email,phoneNumber rows and prints a summary.")
        {
            file,
            db,
        };
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(environment, cancellationToken, () =>
            RunAsync(environment, parseResult.GetRequiredValue(file), parseResult.GetRequiredValue(db), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(CommandEnvironment environment, string csvFile, string databaseFile, CancellationToken cancellationToken)
    {
        var rows = CsvRows.Parse(await File.ReadAllLinesAsync(csvFile, cancellationToken));
        await using var database = ContactDatabase.Open(databaseFile);
        var summary = new ImportSummary();

        // The readable rows go to the reconciler in file order, many per transaction; a row that cannot be read is reported
        // in its place. IdentifyManyAsync streams one result per request, in order: a bad row comes back as its error.
        var readable = rows.Where(static row => row.Error is null).ToList();
        var requests = readable.Select(static row => new IdentifyRequest(row.Email, row.PhoneNumber));
        async Task ImportAsync(Action<int> advance)
        {
            var next = 0;
            await foreach (var result in database.Reconciler.IdentifyManyAsync(requests, cancellationToken))
            {
                var row = readable[(int)result.Index];
                var skipped = next;
                for (; !ReferenceEquals(rows[next], row); next++)
                {
                    summary.Reject(rows[next].LineNumber, rows[next].Error!);
                }

                next++;
                if (result.Succeeded)
                {
                    summary.Accept(result.Result);
                }
                else
                {
                    summary.Reject(row.LineNumber, CommandErrors.WithoutParameterName(result.Error));
                }

                advance(next - skipped);
            }

            for (; next < rows.Count; next++)
            {
                summary.Reject(rows[next].LineNumber, rows[next].Error!);
                advance(1);
            }
        }

        if (environment.Interactive && rows.Count > 0)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(environment.Output),
                Interactive = InteractionSupport.Yes,
            });
            await console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask(Markup.Escape(Path.GetFileName(csvFile)), maxValue: rows.Count);
                    await ImportAsync(count => task.Increment(count));
                });
        }
        else
        {
            await ImportAsync(static _ => { });
        }

        await summary.WriteAsync(environment.Output, csvFile, database.FilePath);
        if (summary.Rejected.Count == 0)
        {
            return ExitCodes.Success;
        }

        return await CommandErrors.FailAsync(
            environment,
            string.Create(CultureInfo.InvariantCulture, $"{summary.Rejected.Count} of {rows.Count} rows were rejected; the other rows were imported."));
    }

    private sealed class ImportSummary
    {
        public int Rows { get; private set; }

        public int NewPrimaries { get; private set; }

        public int NewSecondaries { get; private set; }

        public int Merges { get; private set; }

        public int Unchanged { get; private set; }

        public int Relinked { get; private set; }

        public Dictionary<SetAsideReason, int> SetAside { get; } = [];

        public List<(int LineNumber, string Reason)> Rejected { get; } = [];

        public void Reject(int lineNumber, string reason)
        {
            Rows++;
            Rejected.Add((lineNumber, reason));
        }

        public void Accept(IdentifyResult result)
        {
            Rows++;
            switch (result.Outcome)
            {
                case IdentifyOutcome.PrimaryCreated:
                    NewPrimaries++;
                    break;
                case IdentifyOutcome.SecondaryCreated:
                    NewSecondaries++;
                    break;
                case IdentifyOutcome.PersonsMerged:
                    Merges++;
                    break;
                case IdentifyOutcome.Relinked:
                    Relinked++;
                    break;
                default:
                    Unchanged++;
                    break;
            }

            foreach (var identifier in result.SetAside)
            {
                SetAside[identifier.Reason] = SetAside.GetValueOrDefault(identifier.Reason) + 1;
            }
        }

        public async Task WriteAsync(TextWriter output, string csvFile, string databaseFile)
        {
            var text = string.Create(CultureInfo.InvariantCulture, $"""
                Imported {csvFile} into {databaseFile}
                Rows:            {Rows}
                New primaries:   {NewPrimaries}
                New secondaries: {NewSecondaries}
                Merges:          {Merges}
                Unchanged:       {Unchanged}
                """);
            await output.WriteLineAsync(text);
            if (Relinked > 0)
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Relinked:        {Relinked}"));
            }

            // Identifiers the guards did not use: a row whose identifier was set aside is still imported with the other one.
            var reasons = SetAside.OrderBy(static r => r.Key).Select(static r => string.Create(CultureInfo.InvariantCulture, $"{r.Value} {SetAsideText.ShortReason(r.Key)}"));
            var total = SetAside.Values.Sum();
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Set aside:       {total}{(total > 0 ? $" ({string.Join(", ", reasons)})" : "")}"));
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Rejected:        {Rejected.Count}"));
            foreach (var (lineNumber, reason) in Rejected)
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  line {lineNumber}: {reason}"));
            }
        }
    }
}
