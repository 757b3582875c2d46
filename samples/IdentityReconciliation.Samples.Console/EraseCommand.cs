using System.CommandLine;
using System.Text.Json;

namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// <c>erase --email X --phone Y [--db FILE]</c> or <c>erase --person ID [--db FILE]</c>: forgets an email and/or phone
/// number, or a whole person, and prints what was erased and the persons that remain:
/// <c>{"erasedContactIds":[…],"changedContactIds":[…],"persons":[{…}]}</c>. Exits with 0 even when nothing matched
/// (erasing is idempotent); refuses a database file that does not exist.
/// </summary>
internal static class EraseCommand
{
    public static Command Create(CommandEnvironment environment)
    {
        var email = new Option<string?>("--email") { Description = "An email address to erase from every contact and link.", HelpName = "EMAIL" };
        var phone = new Option<string?>("--phone") { Description = "A phone number to erase from every contact and link.", HelpName = "PHONE" };
        var person = new Option<long?>("--person") { Description = "Erase the whole person this contact id belongs to.", HelpName = "ID" };
        var db = SampleCommandLine.DatabaseOption();
        var command = new Command(
            "erase",
            "Forgets an email and/or phone number (or, with --person, every contact of a person), re-resolves what remains, " +
            "and prints what was erased and the resulting persons as JSON.")
        {
            email,
            phone,
            person,
            db,
        };
        command.Validators.Add(result =>
        {
            var byValue = result.GetResult(email) is not null || result.GetResult(phone) is not null;
            var byPerson = result.GetResult(person) is not null;
            if (byValue == byPerson)
            {
                result.AddError("Give --email and/or --phone, or --person, but not both.");
            }
        });
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(environment, cancellationToken, async () =>
        {
            var file = parseResult.GetRequiredValue(db);
            if (!File.Exists(file))
            {
                // Opening the store would create the file: there is nothing to erase in a database that does not exist.
                return await CommandErrors.FailAsync(environment, $"no database file at {Path.GetFullPath(file)}.");
            }

            await using var database = ContactDatabase.Open(file);
            var result = parseResult.GetValue(person) is { } contactId
                ? await database.Reconciler.ErasePersonAsync(contactId, cancellationToken)
                : await database.Reconciler.EraseAsync(new IdentifyRequest(parseResult.GetValue(email), parseResult.GetValue(phone)), cancellationToken);
            await environment.Output.WriteLineAsync(JsonSerializer.Serialize(result, SampleJsonContext.Relaxed.ErasureResult));
            return ExitCodes.Success;
        }));
        return command;
    }
}
