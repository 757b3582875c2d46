using System.CommandLine;
using System.Text.Json;

namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// <c>identify --email X --phone Y [--db FILE]</c>: one request, printed as the product's JSON response on standard output;
/// an identifier the guards set aside is reported on standard error (the exit code stays 0).
/// </summary>
internal static class IdentifyCommand
{
    public static Command Create(CommandEnvironment environment)
    {
        var email = new Option<string?>("--email") { Description = "The customer's email address.", HelpName = "EMAIL" };
        var phone = new Option<string?>("--phone") { Description = "The customer's phone number.", HelpName = "PHONE" };
        var db = SampleCommandLine.DatabaseOption();
        var command = new Command("identify", "Records one purchase's email and/or phone number and prints the person's consolidated contact as JSON.")
        {
            email,
            phone,
            db,
        };
        SampleCommandLine.RequireOneOf(command, email, phone);
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(environment, cancellationToken, async () =>
        {
            // The reconciler validates the request before the store first opens the file: bad input writes nothing.
            var request = new IdentifyRequest(parseResult.GetValue(email), parseResult.GetValue(phone));
            await using var database = ContactDatabase.Open(parseResult.GetRequiredValue(db));
            var result = await database.Reconciler.IdentifyDetailedAsync(request, cancellationToken);
            await environment.Output.WriteLineAsync(JsonSerializer.Serialize(new IdentifyResponse(result.Contact), SampleJsonContext.Relaxed.IdentifyResponse));
            foreach (var identifier in result.SetAside)
            {
                await environment.Error.WriteLineAsync(SetAsideText.Describe(identifier));
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
