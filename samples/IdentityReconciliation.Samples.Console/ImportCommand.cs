using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// <c>import FILE.csv [--chunk-size N] [--db FILE]</c>: identifies every <c>email,phoneNumber</c> row in file order as a bulk back-fill
/// (<see cref="IIdentityReconciler.IdentifyManyAsync(IAsyncEnumerable{IdentifyRequest}, CancellationToken)"/>: many rows
/// per transaction, exactly as one by one, read from the file as they go), with a progress bar when a person watches, and prints a summary of what each row
/// did, with the identifiers the guards set aside. Bad rows are reported and skipped; every good row lands.
/// Exit code 0 when every row was imported, 1 when some were rejected (the others were still imported).
/// </summary>
internal static class ImportCommand
{
    public static Command Create(CommandEnvironment environment)
    {
        var file = new Argument<string>("FILE.csv") { Description = "A CSV file of email,phoneNumber rows; a header row is optional; either field may be empty." };
        var chunkSize = new Option<int>("--chunk-size")
        {
            Description = string.Create(
                CultureInfo.InvariantCulture,
                $"Rows per transaction, from 1 to {IdentityReconciliationOptions.MaxIdentifyManyChunkSize}. Larger chunks import faster and hold the file's write lock longer."),
            HelpName = "N",
            DefaultValueFactory = _ => ContactDatabase.ImportChunkSize,
        };
        SampleCommandLine.InRange(chunkSize, 1, IdentityReconciliationOptions.MaxIdentifyManyChunkSize, $"--chunk-size must be between 1 and {IdentityReconciliationOptions.MaxIdentifyManyChunkSize}.");
        var db = SampleCommandLine.DatabaseOption();
        var command = new Command("import", "Identifies every row of a CSV file of email,phoneNumber rows and prints a summary.")
        {
            file,
            chunkSize,
            db,
        };
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(environment, cancellationToken, () =>
            RunAsync(environment, parseResult.GetRequiredValue(file), parseResult.GetRequiredValue(db), parseResult.GetValue(chunkSize), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(CommandEnvironment environment, string csvFile, string databaseFile, int chunkSize, CancellationToken cancellationToken)
    {
        // The file is read as the rows are imported, one line at a time: its size (or a pipe's) does not matter. It is
        // opened before the database, so a missing file creates nothing.
        await using var file = new FileStream(csvFile, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        using var reader = new StreamReader(file, bufferSize: 1 << 16);
        await using var database = ContactDatabase.Open(databaseFile, chunkSize);
        var summary = new ImportSummary();

        // The readable rows go to the reconciler in file order, many per transaction; a row that cannot be read is reported
        // in its place. IdentifyManyAsync streams one result per request, in order, a bad row as its error; it reads at
        // most one chunk of requests ahead of its results, so the rows read and not yet answered are all that is held.
        var pending = new Queue<CsvRow>();
        async IAsyncEnumerable<IdentifyRequest> ReadRequestsAsync()
        {
            await foreach (var row in CsvRows.ReadAsync(reader, cancellationToken).ConfigureAwait(false))
            {
                pending.Enqueue(row);
                if (row.Error is null)
                {
                    yield return new IdentifyRequest(row.Email, row.PhoneNumber);
                }
            }
        }

        void RejectUnreadableRows()
        {
            while (pending.TryPeek(out var row) && row.Error is not null)
            {
                summary.Reject(row.LineNumber, row.Error);
                pending.Dequeue();
            }
        }

        async Task ImportAsync(Action advanced)
        {
            await foreach (var result in database.Reconciler.IdentifyManyAsync(ReadRequestsAsync(), cancellationToken))
            {
                RejectUnreadableRows();
                var row = pending.Dequeue();
                if (result.Succeeded)
                {
                    summary.Accept(result.Result);
                }
                else
                {
                    summary.Reject(row.LineNumber, CommandErrors.WithoutParameterName(result.Error));
                }

                advanced();
            }

            RejectUnreadableRows();
        }

        if (environment.Interactive)
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
                    // Progress in bytes of the file read so far; a pipe has no length, so its bar only shows that rows move.
                    var task = context.AddTask(Markup.Escape(Path.GetFileName(csvFile)), maxValue: file.CanSeek ? Math.Max(file.Length, 1) : 1);
                    task.IsIndeterminate = !file.CanSeek;
                    await ImportAsync(() =>
                    {
                        if (file.CanSeek)
                        {
                            task.Value = Math.Min(file.Position, task.MaxValue);
                        }
                    });
                    task.IsIndeterminate = false;
                    task.Value = task.MaxValue;
                });
        }
        else
        {
            await ImportAsync(static () => { });
        }

        await summary.WriteAsync(environment.Output, csvFile, database.FilePath);
        if (summary.Rejected.Count == 0)
        {
            return ExitCodes.Success;
        }

        return await CommandErrors.FailAsync(
            environment,
            string.Create(CultureInfo.InvariantCulture, $"{summary.Rejected.Count} of {summary.Rows} rows were rejected; the other rows were imported."));
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
