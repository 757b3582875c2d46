using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace IdentityReconciliation.Samples.Console;

/// <summary>
/// The product's response shape: <c>{"contact":{"primaryContactId":…,"emails":[…],"phoneNumbers":[…],"secondaryContactIds":[…]}}</c>,
/// or <c>{"contact":null}</c> when <c>show</c> finds nothing.
/// </summary>
internal sealed record IdentifyResponse(ContactCluster? Contact);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Converters = [typeof(JsonStringEnumConverter<ContactChangeKind>), typeof(JsonStringEnumConverter<ContactJoinKind>)])]
[JsonSerializable(typeof(IdentifyResponse))]
[JsonSerializable(typeof(IdentifyRequest))]
[JsonSerializable(typeof(ErasureResult))]
[JsonSerializable(typeof(ContactChange))]
[JsonSerializable(typeof(ExplainResponse))]
internal sealed partial class SampleJsonContext : JsonSerializerContext
{
    /// <summary>
    /// Like <see cref="JsonSerializerContext.Default"/>, but writes <c>+</c> and non-ASCII letters as they are instead of
    /// <c>\u002B</c>: the output is read by people and parsed as JSON, never embedded in HTML.
    /// </summary>
    public static SampleJsonContext Relaxed { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,

        // "kind":"PersonsMerged", "join":"SharedEmail": the names of the library's enums, not their numbers.
        Converters = { new JsonStringEnumConverter<ContactChangeKind>(), new JsonStringEnumConverter<ContactJoinKind>() },
    });
}
