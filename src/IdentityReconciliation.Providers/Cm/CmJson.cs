using System.Text.Json.Serialization;
using IdentityReconciliation.Providers.Internal;

namespace IdentityReconciliation.Providers.Cm;

/// <summary>The body of an Identity Match request; unset fields are left out.</summary>
internal sealed record CmRequest(
    [property: JsonPropertyName("phoneNumber")] string PhoneNumber,
    [property: JsonPropertyName("serviceType")] string ServiceType,
    [property: JsonPropertyName("firstName")] string? FirstName,
    [property: JsonPropertyName("lastName")] string? LastName,
    [property: JsonPropertyName("address")] string? Address,
    [property: JsonPropertyName("address2")] string? Address2,
    [property: JsonPropertyName("address3")] string? Address3,
    [property: JsonPropertyName("postalCode")] string? PostalCode,
    [property: JsonPropertyName("dateOfBirth")] string? DateOfBirth);

/// <summary>CM.com's answer: booleans in <c>match</c> mode, scores in <c>score</c> mode, either possibly as strings.</summary>
internal sealed record CmAnswer(
    [property: JsonPropertyName("state"), JsonConverter(typeof(TextConverter))] string? State,
    [property: JsonPropertyName("firstNameMatch"), JsonConverter(typeof(FlagConverter))] bool? FirstNameMatch,
    [property: JsonPropertyName("lastNameMatch"), JsonConverter(typeof(FlagConverter))] bool? LastNameMatch,
    [property: JsonPropertyName("nameMatch"), JsonConverter(typeof(FlagConverter))] bool? NameMatch,
    [property: JsonPropertyName("addressMatch"), JsonConverter(typeof(FlagConverter))] bool? AddressMatch,
    [property: JsonPropertyName("postalCodeMatch"), JsonConverter(typeof(FlagConverter))] bool? PostalCodeMatch,
    [property: JsonPropertyName("dateOfBirthMatch"), JsonConverter(typeof(FlagConverter))] bool? DateOfBirthMatch,
    [property: JsonPropertyName("firstNameScore"), JsonConverter(typeof(ScoreConverter))] int? FirstNameScore,
    [property: JsonPropertyName("lastNameScore"), JsonConverter(typeof(ScoreConverter))] int? LastNameScore,
    [property: JsonPropertyName("nameScore"), JsonConverter(typeof(ScoreConverter))] int? NameScore,
    [property: JsonPropertyName("addressScore"), JsonConverter(typeof(ScoreConverter))] int? AddressScore,
    [property: JsonPropertyName("postalCodeScore"), JsonConverter(typeof(ScoreConverter))] int? PostalCodeScore,
    [property: JsonPropertyName("dateOfBirthScore"), JsonConverter(typeof(ScoreConverter))] int? DateOfBirthScore);
