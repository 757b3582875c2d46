using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IdentityReconciliation.Samples.Tests.Support;

/// <summary>
/// The web API sample in memory, on its own SQLite file (configured through <c>ConnectionStrings:Contacts</c>), with
/// optional extra settings (as appsettings.json or the environment would give them) and service overrides. Every log
/// entry is kept in <see cref="Logs"/>.
/// </summary>
public sealed class SampleApiFactory : WebApplicationFactory<Program>
{
    private readonly string _connectionString;
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _configureServices;

    public SampleApiFactory(TempDatabase database, IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
        : this($"Data Source={database.FilePath}", settings, configureServices)
    {
    }

    public SampleApiFactory(string connectionString, IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
    {
        _connectionString = connectionString;
        _settings = settings ?? new Dictionary<string, string?>();
        _configureServices = configureServices;
    }

    public CollectingLoggerProvider Logs { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ConnectionStrings:Contacts", _connectionString);
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.ClearProviders().AddProvider(Logs));
        if (_configureServices is not null)
        {
            builder.ConfigureServices(_configureServices);
        }
    }
}
