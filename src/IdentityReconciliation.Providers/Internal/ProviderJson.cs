using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>Tolerant readers for provider JSON, where numbers and booleans sometimes arrive as strings.</summary>
internal static class ProviderJson
{
    /// <summary>
    /// Request bodies keep <c>+</c> and non-ASCII letters as they are (the default encoder would write
    /// <c>\u002B</c>): the bodies are JSON for an API, never embedded in HTML.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static JsonElement? Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : null;

    /// <summary>A score from 0 to 100; <c>-1</c> (or any negative), <c>null</c>, empty or missing is "not available".</summary>
    /// <exception cref="FormatException">The value is neither a number nor a numeric string.</exception>
    public static int? Score(JsonElement? element)
    {
        var number = Number(element);
        if (number is null || number < 0)
        {
            return null;
        }

        return (int)Math.Round(Math.Min(number.Value, 100), MidpointRounding.AwayFromZero);
    }

    /// <exception cref="FormatException">The value is neither a number nor a numeric string.</exception>
    public static double? Number(JsonElement? element)
    {
        if (element is not { } value)
        {
            return null;
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.Null or JsonValueKind.Undefined:
                return null;
            case JsonValueKind.Number:
                return value.GetDouble();
            case JsonValueKind.String:
                var text = value.GetString();
                if (string.IsNullOrWhiteSpace(text))
                {
                    return null;
                }

                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)
                    ? parsed
                    : throw new FormatException("Expected a number or a numeric string.");
            default:
                throw new FormatException($"Expected a number, found {value.ValueKind}.");
        }
    }

    /// <summary>A boolean that may arrive as <c>true</c>, <c>"true"</c>, <c>null</c> or be missing.</summary>
    /// <exception cref="FormatException">The value is neither a boolean nor a boolean string.</exception>
    public static bool? Boolean(JsonElement? element)
    {
        if (element is not { } value)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String => value.GetString() switch
            {
                null or "" => null,
                var text when bool.TryParse(text.Trim(), out var parsed) => parsed,
                _ => throw new FormatException("Expected a boolean or a boolean string."),
            },
            _ => throw new FormatException($"Expected a boolean, found {value.ValueKind}."),
        };
    }

    /// <summary>A string, or a number rendered invariantly; <see langword="null"/> for anything else.</summary>
    public static string? Text(JsonElement? element) => element switch
    {
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        { ValueKind: JsonValueKind.Number } value => value.GetRawText(),
        { ValueKind: JsonValueKind.True } => "true",
        { ValueKind: JsonValueKind.False } => "false",
        _ => null,
    };

    /// <summary>
    /// Reads the errors of an error body, whatever its common shape: <c>errors: [{code, description|message}]</c>,
    /// <c>errors: {field: [messages]}</c> (problem details), or top-level <c>code</c>/<c>message</c>/<c>detail</c>/<c>title</c>.
    /// Never throws; an unreadable body yields no errors.
    /// </summary>
    public static IReadOnlyList<IdentityMatchProviderError> Errors(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return [];
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            var errors = new List<IdentityMatchProviderError>();

            switch (Property(root, "errors"))
            {
                case { ValueKind: JsonValueKind.Array } array:
                    foreach (var item in array.EnumerateArray())
                    {
                        if (item.ValueKind == JsonValueKind.Object)
                        {
                            errors.Add(new IdentityMatchProviderError(
                                Text(Property(item, "code")),
                                Text(Property(item, "description")) ?? Text(Property(item, "message"))));
                        }
                        else if (Text(item) is { } text)
                        {
                            errors.Add(new IdentityMatchProviderError(null, text));
                        }
                    }

                    break;
                case { ValueKind: JsonValueKind.Object } fields:
                    foreach (var field in fields.EnumerateObject())
                    {
                        var messages = field.Value.ValueKind == JsonValueKind.Array
                            ? field.Value.EnumerateArray().Select(m => Text(m)).Where(m => m is not null)
                            : [Text(field.Value)];
                        errors.Add(new IdentityMatchProviderError(field.Name, string.Join(" ", messages)));
                    }

                    break;
            }

            if (errors.Count == 0)
            {
                var description = Text(Property(root, "message")) ?? Text(Property(root, "description")) ??
                    Text(Property(root, "detail")) ?? Text(Property(root, "title"));
                var code = Text(Property(root, "code"));
                if (description is not null || code is not null)
                {
                    errors.Add(new IdentityMatchProviderError(code, description));
                }
            }

            return errors;
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
