using System.Text.Json;
using System.Text.Json.Serialization;

namespace IdentityReconciliation.Samples.Console;

/// <summary>The product's response shape: <c>{"contact":{"primaryContactId":…,"emails":[…],"phoneNumbers":[…],"secondaryContactIds":[…]}}</c>.</summary>
internal sealed record IdentifyResponse(ContactCluster Contact);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(IdentifyResponse))]
[JsonSerializable(typeof(IdentifyRequest))]
internal sealed partial class SampleJsonContext : JsonSerializerContext;
