using System.Text.Json.Serialization;
using IdentityReconciliation.Providers.Internal;

namespace IdentityReconciliation.Providers.Telesign;

/// <summary>The body of a Phone ID request with the Contact Match add-on; unset fields are left out.</summary>
internal sealed record TelesignRequest([property: JsonPropertyName("addons")] TelesignAddons Addons);

internal sealed record TelesignAddons([property: JsonPropertyName("contact_match")] TelesignContactMatchFields ContactMatch);

internal sealed record TelesignContactMatchFields(
    [property: JsonPropertyName("first_name")] string? FirstName,
    [property: JsonPropertyName("last_name")] string? LastName,
    [property: JsonPropertyName("address")] string? Address,
    [property: JsonPropertyName("city")] string? City,
    [property: JsonPropertyName("postal_code")] string? PostalCode,
    [property: JsonPropertyName("state")] string? State,
    [property: JsonPropertyName("country")] string? Country,
    [property: JsonPropertyName("date_of_birth")] string? DateOfBirth);

/// <summary>Telesign's answer. Scores arrive as numbers or strings; <c>-1</c>, <c>null</c> and <c>"None"</c> mean "not available".</summary>
internal sealed record TelesignAnswer(
    [property: JsonPropertyName("reference_id"), JsonConverter(typeof(TextConverter))] string? ReferenceId,
    [property: JsonPropertyName("phone_type")] TelesignStatus? PhoneType,
    [property: JsonPropertyName("contact_match")] TelesignContactMatchAnswer? ContactMatch);

internal sealed record TelesignContactMatchAnswer(
    [property: JsonPropertyName("first_name_score"), JsonConverter(typeof(ScoreConverter))] int? FirstNameScore,
    [property: JsonPropertyName("last_name_score"), JsonConverter(typeof(ScoreConverter))] int? LastNameScore,
    [property: JsonPropertyName("address_score"), JsonConverter(typeof(ScoreConverter))] int? AddressScore,
    [property: JsonPropertyName("date_of_birth_score"), JsonConverter(typeof(ScoreConverter))] int? DateOfBirthScore,
    [property: JsonPropertyName("status")] TelesignStatus? Status);

/// <summary>A <c>{code, description}</c> object; the code may arrive as a number or a string.</summary>
internal sealed record TelesignStatus(
    [property: JsonPropertyName("code"), JsonConverter(typeof(TextConverter))] string? Code,
    [property: JsonPropertyName("description"), JsonConverter(typeof(TextConverter))] string? Description);
