using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using IdentityReconciliation.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// <c>match telesign|cm --phone … --first-name … --last-name … [--address … --postal-code … --dob …]</c>: asks the
/// configured identity-match provider and prints its result as JSON. Settings come from configuration sections
/// <c>Telesign</c> and <c>Cm</c> (appsettings.json or <c>Telesign__ApiKey</c>-style environment variables).
/// </summary>
internal static class MatchCommand
{
    private static readonly MatchJsonContext IndentedJson = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter() },
    });

    public static Command Create(CommandEnvironment environment)
    {
        var provider = new Argument<string>("provider") { Description = "The provider: telesign or cm." };
        provider.AcceptOnlyFromAmong("telesign", "cm");
        var phone = new Option<string>("--phone") { Description = "The phone number in international form, e.g. +15555551212.", HelpName = "PHONE", Required = true };
        var firstName = new Option<string>("--first-name") { Description = "The person's first name.", HelpName = "NAME", Required = true };
        var lastName = new Option<string>("--last-name") { Description = "The person's last name.", HelpName = "NAME", Required = true };
        var address = new Option<string?>("--address") { Description = "The street address.", HelpName = "ADDRESS" };
        var postalCode = new Option<string?>("--postal-code") { Description = "The postal code.", HelpName = "CODE" };
        var dateOfBirth = new Option<DateOnly?>("--dob")
        {
            Description = "The date of birth as YYYY-MM-DD.",
            HelpName = "YYYY-MM-DD",
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
                if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                {
                    return date;
                }

                result.AddError("--dob must be a date as YYYY-MM-DD.");
                return null;
            },
        };

        var command = new Command(
            "match",
            "Compares a person's details with what the mobile operator holds for their phone number, through Telesign " +
            "Contact Match or CM.com Identity Match, and prints the provider's result as JSON. Settings: Telesign__CustomerId, " +
            "Telesign__ApiKey, Telesign__BaseAddress; Cm__KeyId, Cm__Secret, Cm__BaseAddress (appsettings.json or environment variables).")
        {
            provider,
            phone,
            firstName,
            lastName,
            address,
            postalCode,
            dateOfBirth,
        };
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(environment, cancellationToken, async () =>
        {
            var name = parseResult.GetRequiredValue(provider);
            var missing = MissingSettings(name, environment.Configuration);
            if (missing.Count > 0)
            {
                return await CommandErrors.FailAsync(
                    environment,
                    $"missing settings for {name}: {string.Join(", ", missing)} (set them in appsettings.json or as environment variables).");
            }

            var query = new IdentityMatchQuery(parseResult.GetRequiredValue(phone))
            {
                FirstName = parseResult.GetValue(firstName),
                LastName = parseResult.GetValue(lastName),
                Address = parseResult.GetValue(address),
                PostalCode = parseResult.GetValue(postalCode),
                DateOfBirth = parseResult.GetValue(dateOfBirth),
            };

            await using var services = CreateServices(name, environment.Configuration);
            var client = services.GetRequiredService<IIdentityMatchProvider>();
            try
            {
                // The JSON holds "referenceId": the provider's reference for a support ticket.
                var result = await client.MatchAsync(query, cancellationToken);
                await environment.Output.WriteLineAsync(JsonSerializer.Serialize(result, IndentedJson.IdentityMatchResult));
                return ExitCodes.Success;
            }
            catch (IdentityMatchException ex) when (ex.ReferenceId is not null)
            {
                // The message never holds credentials or personal data; the reference is what the provider's support asks for.
                return await CommandErrors.FailAsync(environment, $"{ex.GetType().Name}: {ex.Message} (reference id {ex.ReferenceId})");
            }
        }));
        return command;
    }

    /// <summary>The environment-variable names of the credentials that are not configured.</summary>
    private static List<string> MissingSettings(string provider, IConfiguration configuration)
    {
        (string Section, string[] Keys) required = provider == "telesign"
            ? ("Telesign", ["CustomerId", "ApiKey"])
            : ("Cm", ["KeyId", "Secret"]);
        if (provider == "cm" && !string.IsNullOrWhiteSpace(configuration["Cm:Token"]))
        {
            return [];
        }

        return required.Keys
            .Where(key => string.IsNullOrWhiteSpace(configuration[$"{required.Section}:{key}"]))
            .Select(key => $"{required.Section}__{key}")
            .ToList();
    }

    private static ServiceProvider CreateServices(string provider, IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        if (provider == "telesign")
        {
            services.AddTelesignContactMatch(configuration.GetSection("Telesign"));
        }
        else
        {
            services.AddCmIdentityMatch(configuration.GetSection("Cm"));
        }

        return services.BuildServiceProvider();
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(IdentityMatchResult))]
internal sealed partial class MatchJsonContext : JsonSerializerContext;
