using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using IdentityReconciliation.Providers.Cm;
using IdentityReconciliation.Providers.Telesign;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>
/// The provider DTOs, source-generated. Request bodies leave out unset fields and keep <c>+</c> and non-ASCII letters
/// as they are (they are JSON for an API, never embedded in HTML).
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TelesignRequest))]
[JsonSerializable(typeof(TelesignAnswer))]
[JsonSerializable(typeof(CmRequest))]
[JsonSerializable(typeof(CmAnswer))]
[JsonSerializable(typeof(ErrorBody))]
internal sealed partial class ProviderJson : JsonSerializerContext
{
    public static ProviderJson Relaxed { get; } = new(new JsonSerializerOptions
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

/// <summary>
/// A score from 0 to 100 that may arrive as a number or a string. <c>-1</c> (any negative), <c>null</c>, empty,
/// <c>"None"</c> or missing is "not available".
/// </summary>
internal sealed class ScoreConverter : JsonConverter<int?>
{
    public override bool HandleNull => true;

    public override int? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        double? number = reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.Number => reader.GetDouble(),
            JsonTokenType.String => reader.GetString() is var text && (string.IsNullOrWhiteSpace(text) || text.Trim().Equals("None", StringComparison.OrdinalIgnoreCase))
                ? null
                : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : throw new JsonException("Expected a score."),
            _ => throw new JsonException($"Expected a score, found {reader.TokenType}."),
        };
        return number is { } value && value >= 0 ? (int)Math.Round(Math.Min(value, 100), MidpointRounding.AwayFromZero) : null;
    }

    public override void Write(Utf8JsonWriter writer, int? value, JsonSerializerOptions options) => throw new NotSupportedException();
}

/// <summary>A boolean that may arrive as <c>true</c>, <c>"true"</c>, <c>null</c> or be missing.</summary>
internal sealed class FlagConverter : JsonConverter<bool?>
{
    public override bool HandleNull => true;

    public override bool? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        JsonTokenType.String when string.IsNullOrWhiteSpace(reader.GetString()) => null,
        JsonTokenType.String when bool.TryParse(reader.GetString()!.Trim(), out var parsed) => parsed,
        _ => throw new JsonException("Expected a boolean."),
    };

    public override void Write(Utf8JsonWriter writer, bool? value, JsonSerializerOptions options) => throw new NotSupportedException();
}

/// <summary>A string, or a number or boolean rendered invariantly; anything else is <see langword="null"/>.</summary>
internal sealed class TextConverter : JsonConverter<string?>
{
    public override bool HandleNull => true;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Text(JsonElement.ParseValue(ref reader));

    public static string? Text(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => element.GetRawText(),
        _ => null,
    };

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}

/// <summary>
/// An error body in any of the common shapes: <c>errors: [{code, description|message}]</c>, <c>errors: {field:
/// [messages]}</c> (problem details), or top-level <c>code</c>/<c>message</c>/<c>detail</c>/<c>title</c>.
/// </summary>
internal sealed record ErrorBody(
    [property: JsonPropertyName("reference_id"), JsonConverter(typeof(TextConverter))] string? ReferenceId,
    [property: JsonPropertyName("errors")] JsonElement? Errors,
    [property: JsonPropertyName("code"), JsonConverter(typeof(TextConverter))] string? Code,
    [property: JsonPropertyName("message"), JsonConverter(typeof(TextConverter))] string? Message,
    [property: JsonPropertyName("description"), JsonConverter(typeof(TextConverter))] string? Description,
    [property: JsonPropertyName("detail"), JsonConverter(typeof(TextConverter))] string? Detail,
    [property: JsonPropertyName("title"), JsonConverter(typeof(TextConverter))] string? Title)
{
    /// <summary>Reads an error body; never throws, an unreadable body has no errors.</summary>
    public static (IReadOnlyList<IdentityMatchProviderError> Errors, string? ReferenceId) Read(byte[] body)
    {
        try
        {
            if (body.Length == 0 || JsonSerializer.Deserialize(body, ProviderJson.Relaxed.ErrorBody) is not { } error)
            {
                return ([], null);
            }

            var errors = error.Errors switch
            {
                { ValueKind: JsonValueKind.Array } items => items.EnumerateArray().Select(item => item.ValueKind == JsonValueKind.Object
                    ? new IdentityMatchProviderError(Text(item, "code"), Text(item, "description") ?? Text(item, "message"))
                    : new IdentityMatchProviderError(null, TextConverter.Text(item))).ToList(),
                { ValueKind: JsonValueKind.Object } fields => fields.EnumerateObject().Select(field => new IdentityMatchProviderError(
                    field.Name,
                    string.Join(" ", field.Value.ValueKind == JsonValueKind.Array ? field.Value.EnumerateArray().Select(TextConverter.Text) : [TextConverter.Text(field.Value)]))).ToList(),
                _ => [],
            };
            var description = error.Message ?? error.Description ?? error.Detail ?? error.Title;
            if (errors.Count == 0 && (description ?? error.Code) is not null)
            {
                errors.Add(new IdentityMatchProviderError(error.Code, description));
            }

            return (errors, error.ReferenceId);
        }
        catch (JsonException)
        {
            return ([], null);
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? TextConverter.Text(value) : null;
}
