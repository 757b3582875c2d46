using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// <c>import FILE.csv [--db FILE]</c>: identifies every <c>email,phoneNumber</c> row in file order, with a progress bar
/// when a person watches, and prints a summary of what each row did (<see cref="IIdentityReconciler.IdentifyDetailedAsync"/>),
/// with the identifiers the guards set aside. Bad rows are reported and skipped; every good row lands.
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

        async Task ImportRowAsync(CsvRow row)
        {
            if (row.Error is not null)
            {
                summary.Reject(row.LineNumber, row.Error);
                return;
            }

            IdentifyResult result;
            try
            {
                result = await database.Reconciler.IdentifyDetailedAsync(new IdentifyRequest(row.Email, row.PhoneNumber), cancellationToken);
            }
            catch (InvalidIdentifyRequestException ex)
            {
                summary.Reject(row.LineNumber, CommandErrors.WithoutParameterName(ex));
                return;
            }

            summary.Accept(result);
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
                    foreach (var row in rows)
                    {
                        await ImportRowAsync(row);
                        task.Increment(1);
                    }
                });
        }
        else
        {
            foreach (var row in rows)
            {
                await ImportRowAsync(row);
            }
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
