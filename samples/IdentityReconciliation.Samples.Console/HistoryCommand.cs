using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// <c>history ID [--db FILE]</c>: the change-feed entries of the person contact <c>ID</c> belongs to, oldest first, one
/// JSON object per line (the shape of <c>changes</c>). Exit code 3, and nothing on standard output, when <c>ID</c> is not a
/// live contact. Nothing is written.
/// </summary>
internal static class HistoryCommand
{
    public static Command Create(CommandEnvironment environment)
    {
        var id = new Argument<long>("ID") { Description = "Any live contact of the person (primary or secondary)." };
        var db = SampleCommandLine.DatabaseOption();
        var command = new Command(
            "history",
            "Prints the change-feed entries of the person a contact belongs to, oldest first, one JSON object per line. " +
            "Exits with code 3 when the contact is unknown.")
        {
            id,
            db,
        };
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(environment, cancellationToken, async () =>
        {
            var contactId = parseResult.GetValue(id);
            var file = parseResult.GetRequiredValue(db);
            if (!File.Exists(file))
            {
                // Opening the store would create the file: a read-only command must not.
                return await CommandErrors.FailAsync(environment, $"no database file at {Path.GetFullPath(file)}.");
            }

            await using var database = ContactDatabase.Open(file);
            var history = await database.Reconciler.GetHistoryAsync(contactId, cancellationToken);

            // No entry: an unknown contact, or a live one whose entries the retention settings pruned. A contact explains
            // itself (no steps) exactly when it is live.
            if (history.Count == 0 && await database.Reconciler.ExplainAsync(contactId, contactId, cancellationToken) is null)
            {
                await environment.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"no live contact {contactId}."));
                return ExitCodes.NotFound;
            }

            foreach (var change in history)
            {
                await environment.Output.WriteLineAsync(JsonSerializer.Serialize(change, SampleJsonContext.Relaxed.ContactChange));
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
