using System.CommandLine;
using System.Text.Json;

namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// <c>show --email X | --phone Y [--db FILE]</c>: the read-only lookup. Prints <c>{"contact":{…}}</c>, or
/// <c>{"contact":null}</c> with exit code 3 when no contact matches. Nothing is written.
/// </summary>
internal static class ShowCommand
{
    public static Command Create(CommandEnvironment environment)
    {
        var email = new Option<string?>("--email") { Description = "An email address to look up.", HelpName = "EMAIL" };
        var phone = new Option<string?>("--phone") { Description = "A phone number to look up.", HelpName = "PHONE" };
        var db = SampleCommandLine.DatabaseOption();
        var command = new Command(
            "show",
            "Looks up the person an email and/or phone number belongs to, without writing anything. " +
            "Prints {\"contact\":null} and exits with code 3 when no contact matches.")
        {
            email,
            phone,
            db,
        };
        SampleCommandLine.RequireOneOf(command, email, phone);
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(environment, cancellationToken, async () =>
        {
            var request = new IdentifyRequest(parseResult.GetValue(email), parseResult.GetValue(phone));
            var file = parseResult.GetRequiredValue(db);
            if (!File.Exists(file))
            {
                // Opening the store would create the file: a read-only command must not.
                return await CommandErrors.FailAsync(environment, $"no database file at {Path.GetFullPath(file)}.");
            }

            await using var database = ContactDatabase.Open(file);
            var cluster = await database.Reconciler.FindAsync(request, cancellationToken);
            await environment.Output.WriteLineAsync(JsonSerializer.Serialize(new IdentifyResponse(cluster), SampleJsonContext.Relaxed.IdentifyResponse));
            return cluster is null ? ExitCodes.NotFound : ExitCodes.Success;
        }));
        return command;
    }
}
