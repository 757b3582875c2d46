using IdentityReconciliation;
using IdentityReconciliation.PostgreSql;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Selects the PostgreSQL contact store on the builder that <c>AddIdentityReconciliation()</c> returns.</summary>
public static class PostgreSqlIdentityReconciliationBuilderExtensions
{
    /// <summary>Selects the PostgreSQL store on the database that <paramref name="connectionString"/> names.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">An Npgsql connection string, for example <c>Host=db;Database=shop;Username=app;Password=...</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="connectionString"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is empty or white space.</exception>
    public static IIdentityReconciliationBuilder UsePostgreSql(this IIdentityReconciliationBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UsePostgreSql(options => options.ConnectionString = connectionString);
    }

    /// <summary>Selects the PostgreSQL store on a data source the host builds and owns (the store never disposes it).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="dataSource">The data source.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="dataSource"/> is <see langword="null"/>.</exception>
    public static IIdentityReconciliationBuilder UsePostgreSql(this IIdentityReconciliationBuilder builder, NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dataSource);
        return builder.UsePostgreSql(options => options.DataSource = dataSource);
    }

    /// <summary>Selects the PostgreSQL store with options bound from a configuration section (for example <c>"Contacts:PostgreSql"</c>).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The section holding <see cref="PostgreSqlContactStoreOptions"/> keys (<c>ConnectionString</c>, <c>Schema</c>, <c>AutoMigrate</c>, ...).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configuration"/> is <see langword="null"/>.</exception>
    public static IIdentityReconciliationBuilder UsePostgreSql(this IIdentityReconciliationBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        AddStore(builder.Services);
        builder.Services.Configure<PostgreSqlContactStoreOptions>(configuration);
        return builder;
    }

    /// <summary>Selects the PostgreSQL store and configures its options.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="PostgreSqlContactStoreOptions"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    public static IIdentityReconciliationBuilder UsePostgreSql(this IIdentityReconciliationBuilder builder, Action<PostgreSqlContactStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        AddStore(builder.Services);
        builder.Services.Configure(configure);
        return builder;
    }

    private static void AddStore(IServiceCollection services)
    {
        // Validated when the host starts: a misconfigured store fails start-up with a message naming the setting.
        services.AddOptions<PostgreSqlContactStoreOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgreSqlContactStoreOptions>, PostgreSqlContactStoreOptionsFullValidator>());
        services.Replace(ServiceDescriptor.Singleton<IContactStore>(static sp => new PostgreSqlContactStore(
            sp.GetRequiredService<IOptions<PostgreSqlContactStoreOptions>>(),
            sp.GetService<ILogger<PostgreSqlContactStore>>(),
            sp.GetService<TimeProvider>())));
    }
}
