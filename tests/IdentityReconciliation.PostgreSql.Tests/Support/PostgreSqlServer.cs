namespace IdentityReconciliation.PostgreSql.Tests.Support;

/// <summary>Where the PostgreSQL tests find their server: the IDR_POSTGRES environment variable.</summary>
public static class PostgreSqlServer
{
    public const string Variable = "IDR_POSTGRES";

    public const string HowToRun =
        "PostgreSQL is not configured: set IDR_POSTGRES to an Npgsql connection string of a database where the tests may CREATE DATABASE " +
        "(for example Host=127.0.0.1;Port=5432;Username=postgres;Password=...;Database=postgres), or run them against a throw-away cluster " +
        "with one command: .ci/postgres.sh dotnet test tests/IdentityReconciliation.PostgreSql.Tests -c Release";

    /// <summary>The admin connection string, or <see langword="null"/> when the variable is not set.</summary>
    public static string? ConnectionString => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value ? value : null;

    /// <summary>Why PostgreSQL tests are skipped, or <see langword="null"/> when they run.</summary>
    public static string? SkipReason => ConnectionString is null ? HowToRun : null;
}
