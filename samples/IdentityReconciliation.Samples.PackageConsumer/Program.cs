// Uses IdentityReconciliation the way a consuming team does: packages by PackageReference, a generic host, DI.
using System.Reflection;
using IdentityReconciliation;
using IdentityReconciliation.Providers.Telesign;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var databaseFile = Path.Combine(Path.GetTempPath(), $"idr-consumer-{Guid.NewGuid():N}.db");
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddIdentityReconciliation().UseSqlite($"Data Source={databaseFile}");
builder.Services.AddTelesignContactMatch(options =>
{
    // Registered to prove the package wires up and validates; this sample never calls Telesign.
    options.CustomerId = "package-consumer-sample";
    options.ApiKey = Convert.ToBase64String("not-a-real-key"u8.ToArray());
    options.BaseAddress = new Uri("http://127.0.0.1:9/");
});

using var host = builder.Build();
await host.StartAsync(); // validates every option at start-up

var reconciler = host.Services.GetRequiredService<IIdentityReconciler>();
var first = await reconciler.IdentifyAsync(new IdentifyRequest("lorraine@hillvalley.edu", "123456"));
var second = await reconciler.IdentifyAsync(new IdentifyRequest("mcfly@hillvalley.edu", "123456"));
_ = host.Services.GetRequiredService<TelesignContactMatchClient>();

foreach (var assembly in new[] { typeof(IIdentityReconciler).Assembly, typeof(TelesignContactMatchClient).Assembly })
{
    var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
    Console.WriteLine($"{assembly.GetName().Name} {version} from {Path.GetDirectoryName(assembly.Location)}");
}

Console.WriteLine($"primaryContactId={second.PrimaryContactId} emails=[{string.Join(",", second.Emails)}] secondaryContactIds=[{string.Join(",", second.SecondaryContactIds)}]");
await host.StopAsync();
File.Delete(databaseFile);
return second.PrimaryContactId == first.PrimaryContactId && second.SecondaryContactIds.Count == 1 ? 0 : 1;
