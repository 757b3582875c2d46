using IdentityReconciliation;
using IdentityReconciliation.HealthChecks;
using IdentityReconciliation.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers identity reconciliation in an <see cref="IServiceCollection"/>.</summary>
public static class IdentityReconciliationServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IIdentityReconciler"/> and its defaults: <see cref="DefaultContactNormalizer"/>,
    /// <see cref="TimeProvider.System"/>, the default guards (<see cref="IdentityReconciliationOptions"/>, registered as
    /// <c>IOptions&lt;IdentityReconciliationOptions&gt;</c> and validated when the host starts), and, unless another store
    /// is chosen, the SQLite store on the file <c>identity-reconciliation.db</c> in the current directory. Every default is
    /// registered with <c>TryAdd</c>, so a host can replace it. Calling it twice is harmless.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>A builder to choose the contact store.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IIdentityReconciliationBuilder AddIdentityReconciliation(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IContactNormalizer>(DefaultContactNormalizer.Instance);
        services.TryAddSingleton(static sp => new ContactStoreBusyTracker(sp.GetRequiredService<TimeProvider>()));
        services.AddOptions<IdentityReconciliationOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IdentityReconciliationOptions>, IdentityReconciliationOptionsFullValidator>());
        services.TryAddSingleton<IIdentityReconciler>(static sp => new IdentityReconciler(
            sp.GetRequiredService<IContactStore>(),
            sp.GetRequiredService<IContactNormalizer>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<IdentityReconciliationOptions>>(),
            sp.GetService<ILogger<IdentityReconciler>>())
        {
            BusyTracker = sp.GetRequiredService<ContactStoreBusyTracker>(),
        });

        AddSqliteOptions(services);
        services.TryAddSingleton<IContactStore>(CreateSqliteStore);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ChangeFeedPruningService>(static sp => new ChangeFeedPruningService(
            sp.GetRequiredService<IContactStore>,
            sp.GetRequiredService<IOptions<IdentityReconciliationOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<ChangeFeedPruningService>>())));
        return new IdentityReconciliationBuilder(services);
    }

    /// <summary>
    /// Registers identity reconciliation (see <see cref="AddIdentityReconciliation(IServiceCollection)"/>) and configures its
    /// guards: blocked values, per-person limits and which identifier wins (<see cref="IdentityReconciliationOptions"/>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures <see cref="IdentityReconciliationOptions"/>; runs when the options are first read.</param>
    /// <returns>A builder to choose the contact store.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    public static IIdentityReconciliationBuilder AddIdentityReconciliation(this IServiceCollection services, Action<IdentityReconciliationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var builder = services.AddIdentityReconciliation();
        services.Configure(configure);
        return builder;
    }

    /// <summary>
    /// Registers identity reconciliation (see <see cref="AddIdentityReconciliation(IServiceCollection)"/>) with the SQLite
    /// store on the database that <paramref name="connectionString"/> names.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string, for example <c>Data Source=contacts.db</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="connectionString"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is empty or white space.</exception>
    public static IIdentityReconciliationBuilder UseSqlite(this IIdentityReconciliationBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseSqlite(options => options.ConnectionString = connectionString);
    }

    /// <summary>Selects the SQLite store and configures its options.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="SqliteContactStoreOptions"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    public static IIdentityReconciliationBuilder UseSqlite(this IIdentityReconciliationBuilder builder, Action<SqliteContactStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        AddSqliteOptions(builder.Services);
        builder.Services.Configure(configure);
        builder.Services.Replace(ServiceDescriptor.Singleton<IContactStore>(CreateSqliteStore));
        return builder;
    }

    /// <summary>
    /// Selects the SQLite store with its options bound from a configuration section, for example
    /// <c>"IdentityReconciliation:Sqlite"</c> holding <c>ConnectionString</c>, <c>BusyTimeout</c> (<c>00:00:05</c>),
    /// <c>Synchronous</c> (<c>Full</c> or <c>Normal</c>), <c>MaxBatchSize</c> and <c>MemoryMapSize</c>. Keys that are
    /// absent keep their defaults; the values are validated when the host starts.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The section holding <see cref="SqliteContactStoreOptions"/> keys.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configuration"/> is <see langword="null"/>.</exception>
    public static IIdentityReconciliationBuilder UseSqlite(this IIdentityReconciliationBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        AddSqliteOptions(builder.Services);
        builder.Services.Configure<SqliteContactStoreOptions>(configuration);
        builder.Services.Replace(ServiceDescriptor.Singleton<IContactStore>(CreateSqliteStore));
        return builder;
    }

    /// <summary>Selects a custom <see cref="IContactStore"/>, registered as a singleton.</summary>
    /// <typeparam name="TStore">The store type. It must honour the atomicity contract of <see cref="IContactStore"/>.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static IIdentityReconciliationBuilder UseContactStore<TStore>(this IIdentityReconciliationBuilder builder)
        where TStore : class, IContactStore
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IContactStore, TStore>());
        return builder;
    }

    /// <summary>Selects a custom <see cref="IContactStore"/> created by a factory, registered as a singleton.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the store.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="factory"/> is <see langword="null"/>.</exception>
    public static IIdentityReconciliationBuilder UseContactStore(this IIdentityReconciliationBuilder builder, Func<IServiceProvider, IContactStore> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.Replace(ServiceDescriptor.Singleton(factory));
        return builder;
    }

    private static void AddSqliteOptions(IServiceCollection services)
    {
        services.AddOptions<SqliteContactStoreOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteContactStoreOptions>, SqliteContactStoreOptionsFullValidator>());
    }

    private static SqliteContactStore CreateSqliteStore(IServiceProvider services) =>
        new(services.GetRequiredService<IOptions<SqliteContactStoreOptions>>(), services.GetService<ILogger<SqliteContactStore>>());
}
