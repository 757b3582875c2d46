using Dapper;
using Npgsql;

namespace IdentityReconciliation.PostgreSql.Tests.Support;

/// <summary>
/// A fresh database with a random name on the IDR_POSTGRES server, dropped afterwards, so test classes run in parallel
/// without seeing each other. Rows are read with raw SQL, outside the library.
/// </summary>
public sealed class PostgreSqlDatabase : IAsyncDisposable
{
    private PostgreSqlDatabase(string name, string connectionString)
    {
        Name = name;
        ConnectionString = connectionString;
        DataSource = NpgsqlDataSource.Create(connectionString);
    }

    public string Name { get; }

    public string ConnectionString { get; }

    /// <summary>For the tests' own raw SQL.</summary>
    public NpgsqlDataSource DataSource { get; }

    public static async Task<PostgreSqlDatabase> CreateAsync()
    {
        var admin = PostgreSqlServer.ConnectionString
            ?? throw new InvalidOperationException(PostgreSqlServer.HowToRun);
        var name = "idr_test_" + Guid.NewGuid().ToString("N")[..20];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await connection.ExecuteAsync($"CREATE DATABASE \"{name}\"");
        }

        var builder = new NpgsqlConnectionStringBuilder(admin) { Database = name };
        return new PostgreSqlDatabase(name, builder.ConnectionString);
    }

    public async Task<NpgsqlConnection> OpenAsync() => await DataSource.OpenConnectionAsync();

    public async Task<int> ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = await OpenAsync();
        return await connection.ExecuteAsync(sql, parameters);
    }

    public async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await OpenAsync();
        return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
    }

    public async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await OpenAsync();
        return (await connection.QueryAsync<T>(sql, parameters)).ToList();
    }

    /// <summary>Every row of <c>"Contact"</c> in a schema, soft-deleted ones included, by id; empty when the table does not exist.</summary>
    public async Task<IReadOnlyList<Contact>> ReadAllAsync(string schema = "public")
    {
        await using var connection = await OpenAsync();
        if (await connection.ExecuteScalarAsync<bool>("SELECT to_regclass(@Table) IS NULL", new { Table = $"\"{schema}\".\"Contact\"" }))
        {
            return [];
        }

        var rows = await connection.QueryAsync<Row>($"""
            SELECT "id" AS Id, "phoneNumber" AS PhoneNumber, "email" AS Email, "linkedId" AS LinkedId, "linkPrecedence" AS LinkPrecedence,
                   "createdAt" AS CreatedAt, "updatedAt" AS UpdatedAt, "deletedAt" AS DeletedAt
            FROM "{schema}"."Contact" ORDER BY "id"
            """);
        return rows.Select(r => new Contact(
            r.Id,
            r.PhoneNumber,
            r.Email,
            r.LinkedId,
            r.LinkPrecedence switch
            {
                "primary" => LinkPrecedence.Primary,
                "secondary" => LinkPrecedence.Secondary,
                _ => throw new InvalidDataException($"linkPrecedence '{r.LinkPrecedence}'"),
            },
            Utc(r.CreatedAt),
            Utc(r.UpdatedAt),
            r.DeletedAt is { } deleted ? Utc(deleted) : null)).ToList();
    }

    /// <summary>Every row of <c>"ContactLink"</c> in a schema (merge evidence); empty when the table does not exist.</summary>
    public async Task<IReadOnlyList<ContactLink>> ReadLinksAsync(string schema = "public")
    {
        await using var connection = await OpenAsync();
        if (await connection.ExecuteScalarAsync<bool>("SELECT to_regclass(@Table) IS NULL", new { Table = $"\"{schema}\".\"ContactLink\"" }))
        {
            return [];
        }

        var rows = await connection.QueryAsync<(string Email, string PhoneNumber, DateTime CreatedAt)>(
            $"SELECT \"email\", \"phoneNumber\", \"createdAt\" FROM \"{schema}\".\"ContactLink\" ORDER BY \"email\", \"phoneNumber\"");
        return rows.Select(r => new ContactLink(r.Email, r.PhoneNumber, Utc(r.CreatedAt))).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        await using var connection = new NpgsqlConnection(PostgreSqlServer.ConnectionString);
        await connection.OpenAsync();
        await connection.ExecuteAsync($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)");
    }

    private static DateTimeOffset Utc(DateTime value)
    {
        value.Kind.Should().Be(DateTimeKind.Utc, "timestamps are stored as timestamptz");
        return new DateTimeOffset(value);
    }

    private sealed record Row(long Id, string? PhoneNumber, string? Email, long? LinkedId, string LinkPrecedence, DateTime CreatedAt, DateTime UpdatedAt, DateTime? DeletedAt);
}

/// <summary>One database per test class (xunit class fixture); does nothing when no server is configured, so that the class's tests report themselves skipped.</summary>
public sealed class PostgreSqlDatabaseFixture : IAsyncLifetime
{
    private PostgreSqlDatabase? _database;

    public PostgreSqlDatabase Database => _database ?? throw new InvalidOperationException(PostgreSqlServer.HowToRun);

    public async Task InitializeAsync()
    {
        if (PostgreSqlServer.ConnectionString is not null)
        {
            _database = await PostgreSqlDatabase.CreateAsync();
        }
    }

    public async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
