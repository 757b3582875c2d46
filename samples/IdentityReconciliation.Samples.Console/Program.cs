// Runs the product's worked example against a fresh SQLite file and prints each request and its JSON response.
using System.Text.Json;
using IdentityReconciliation;
using IdentityReconciliation.Samples.Console;
using Microsoft.Extensions.DependencyInjection;

var folder = Path.Combine(Path.GetTempPath(), "identity-reconciliation-sample", Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(folder);
var databaseFile = Path.Combine(folder, "identity-reconciliation.db");

var services = new ServiceCollection();
services.AddIdentityReconciliation().UseSqlite($"Data Source={databaseFile}");
await using var provider = services.BuildServiceProvider();
var reconciler = provider.GetRequiredService<IIdentityReconciler>();

Console.WriteLine($"SQLite database: {databaseFile}");

IdentifyRequest[] requests =
[
    new("lorraine@hillvalley.edu", "123456"),
    new("mcfly@hillvalley.edu", "123456"),
    new(null, "123456"),
    new("lorraine@hillvalley.edu", null),
    new("mcfly@hillvalley.edu", null),
    new("george@hillvalley.edu", "919191"),
    new("biffsucks@hillvalley.edu", "717171"),
    new("george@hillvalley.edu", "717171"),
];

foreach (var request in requests)
{
    var cluster = await reconciler.IdentifyAsync(request);
    Console.WriteLine();
    Console.WriteLine($"POST /identify {JsonSerializer.Serialize(request, SampleJsonContext.Default.IdentifyRequest)}");
    Console.WriteLine(JsonSerializer.Serialize(new IdentifyResponse(cluster), SampleJsonContext.Default.IdentifyResponse));
}

return 0;
