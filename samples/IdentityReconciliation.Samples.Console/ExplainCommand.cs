using System.CommandLine;
using System.Text.Json;

namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// <c>explain ID OTHER [--db FILE]</c>: why two contacts are one person, as
/// <c>{"explanation":{"primaryContactId":…,"steps":[{"from":…,"to":…,"join":"SharedEmail","email":"…","phoneNumber":null},…]}}</c>;
/// <c>{"explanation":null}</c> and exit code 3 when they are not one person (or either is not a live contact). The steps
/// show the shared values: the operator's own data. Nothing is written.
/// </summary>
internal static class ExplainCommand
{
    public static Command Create(CommandEnvironment environment)
    {
        var id = new Argument<long>("ID") { Description = "A live contact." };
        var other = new Argument<long>("OTHER") { Description = "Another live contact." };
        var db = SampleCommandLine.DatabaseOption();
        var command = new Command(
            "explain",
            "Explains why two contacts are one person: the shortest path from one to the other, each step joined by a shared " +
            "email, a shared phone number or a merge link, as JSON. Prints {\"explanation\":null} and exits with code 3 " +
            "when they are not one person.")
        {
            id,
            other,
            db,
        };
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(environment, cancellationToken, async () =>
        {
            var file = parseResult.GetRequiredValue(db);
            if (!File.Exists(file))
            {
                // Opening the store would create the file: a read-only command must not.
                return await CommandErrors.FailAsync(environment, $"no database file at {Path.GetFullPath(file)}.");
            }

            await using var database = ContactDatabase.Open(file);
            var explanation = await database.Reconciler.ExplainAsync(parseResult.GetValue(id), parseResult.GetValue(other), cancellationToken);
            await environment.Output.WriteLineAsync(JsonSerializer.Serialize(ExplainResponse.From(explanation), SampleJsonContext.Relaxed.ExplainResponse));
            return explanation is null ? ExitCodes.NotFound : ExitCodes.Success;
        }));
        return command;
    }
}
