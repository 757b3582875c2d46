using System.Globalization;
using IdentityReconciliation.PostgreSql.Tests.Support;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>
/// The chunked <see cref="PostgreSqlContactStore.ReconcileManyAsync"/> keeps the locking protocol: back-fills and one-by-one
/// requests from other connections over the same identifiers, at once, leave a graph whose clusters are exactly the
/// connected components of every request sent (one primary per person, the oldest; no chains; no lost merge).
/// </summary>
[RequiresPostgreSql]
public sealed class PostgreSqlBulkConcurrencyTests(PostgreSqlDatabaseFixture fixture) : IClassFixture<PostgreSqlDatabaseFixture>
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task IdentifyManyAsync_WithConcurrentWriters_KeepsTheGraphInvariants(int seed)
    {
        var schema = "bulkrace_" + Guid.NewGuid().ToString("N")[..12];
        await using var store = new PostgreSqlContactStore(Options.Create(new PostgreSqlContactStoreOptions { ConnectionString = fixture.Database.ConnectionString, Schema = schema }));
        await store.EnsureSchemaAsync();
        var options = new IdentityReconciliationOptions { MaxEmailsPerPerson = null, MaxPhoneNumbersPerPerson = null, IdentifyManyChunkSize = 25 };
        var reconciler = new IdentityReconciler(store, DefaultContactNormalizer.Instance, TimeProvider.System, Options.Create(options), null);
        var random = new Random(seed);
        var streams = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 150).Select(_ => Request(random)).ToList()).ToList();

        var bulk = streams.Take(3).Select(async stream =>
        {
            var count = 0;
            await foreach (var result in reconciler.IdentifyManyAsync(stream))
            {
                result.Succeeded.Should().BeTrue();
                count++;
            }

            count.Should().Be(stream.Count);
        });
        var oneByOne = streams.Skip(3).Select(stream => Task.Run(async () =>
        {
            foreach (var request in stream)
            {
                await reconciler.IdentifyAsync(request);
            }
        }));
        await Task.WhenAll(bulk.Concat(oneByOne));

        var rows = await fixture.Database.ReadAllAsync(schema);
        GraphInvariants.AssertHold(rows, streams.SelectMany(s => s).Select(r => (r.Email, r.PhoneNumber)));
    }

    private static IdentifyRequest Request(Random random)
    {
        string? email = random.Next(4) == 0 ? null : $"c{random.Next(40).ToString(CultureInfo.InvariantCulture)}@x.io";
        string? phone = email is not null && random.Next(4) == 0 ? null : (1000 + random.Next(40)).ToString(CultureInfo.InvariantCulture);
        return new IdentifyRequest(email, phone);
    }
}
