using IdentityReconciliation.Tests.Support;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Samples.Tests.Support;

/// <summary>The web API sample in memory, on its own SQLite file (configured through <c>ConnectionStrings:Contacts</c>).</summary>
public sealed class SampleApiFactory : WebApplicationFactory<Program>
{
    private readonly string _connectionString;

    public SampleApiFactory(TempDatabase database)
        : this($"Data Source={database.FilePath}")
    {
    }

    public SampleApiFactory(string connectionString)
    {
        _connectionString = connectionString;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ConnectionStrings:Contacts", _connectionString);
        builder.ConfigureLogging(logging => logging.ClearProviders());
    }
}
