using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using IdentityReconciliation;

namespace IdentityReconciliation.Samples.WebApi;

/// <summary>The body of <c>POST /identify</c>.</summary>
/// <param name="Email">The email, or <see langword="null"/>.</param>
/// <param name="PhoneNumber">The phone number as a string or a JSON number, or <see langword="null"/>.</param>
internal sealed record IdentifyBody(
    string? Email,
    [property: JsonConverter(typeof(PhoneNumberJsonConverter))] string? PhoneNumber);

/// <summary>The response: <c>{"contact":{"primaryContactId":…,"emails":[…],"phoneNumbers":[…],"secondaryContactIds":[…]}}</c>.</summary>
/// <param name="Contact">The person's consolidated contact.</param>
internal sealed record IdentifyResponse(ContactCluster Contact);

/// <summary>
/// Reads a phone number given as a JSON string or a JSON number (many clients send <c>"phoneNumber": 123456</c>). A
/// number must be a whole, non-negative number and is taken exactly as written, so no digit is lost to floating point
/// (<c>1.5</c>, <c>-1</c> or <c>1e6</c> are rejected). Any other token is a JSON error.
/// </summary>
internal sealed class PhoneNumberJsonConverter : JsonConverter<string?>
{
    public override bool HandleNull => true;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => ReadDigits(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan),
        _ => throw new JsonException(IdentifyEndpoint.PhoneNumberTypeMessage),
    };

    private static string ReadDigits(ReadOnlySpan<byte> number)
    {
        foreach (var b in number)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                throw new JsonException(IdentifyEndpoint.PhoneNumberTypeMessage);
            }
        }

        return Encoding.UTF8.GetString(number);
    }

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }
}

/// <summary>Source-generated JSON metadata for the endpoint's types: no reflection on the request path.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(IdentifyBody))]
[JsonSerializable(typeof(IdentifyResponse))]
[JsonSerializable(typeof(ErasureResult))]
[JsonSerializable(typeof(ChangesResponse))]
[JsonSerializable(typeof(HistoryResponse))]
[JsonSerializable(typeof(ExplanationResponse))]
internal sealed partial class WebApiJsonContext : JsonSerializerContext;
