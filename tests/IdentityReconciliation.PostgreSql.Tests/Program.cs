using System.Globalization;

namespace IdentityReconciliation.PostgreSql.Tests;

/// <summary>
/// The test assembly is also a small program, so that <see cref="PostgreSqlMultiProcessTests"/> can start real OS processes
/// that write to one PostgreSQL database: <c>dotnet IdentityReconciliation.PostgreSql.Tests.dll hammer SEED COUNT</c> (or
/// <c>race SEED COUNT</c> for the requests that race an erasure), with the connection string in the IDR_HAMMER_CONNECTION
/// environment variable (never on the command line, where other users of the machine could read its password). The test
/// runner does not use this entry point.
/// </summary>
public static class Program
{
    public const string ConnectionVariable = "IDR_HAMMER_CONNECTION";

    public static async Task<int> Main(string[] args)
    {
        var connectionString = Environment.GetEnvironmentVariable(ConnectionVariable);
        if (args is not [var mode and ("hammer" or "race"), var seedText, var countText] || string.IsNullOrEmpty(connectionString))
        {
            await Console.Error.WriteLineAsync($"usage: {ConnectionVariable}=... hammer|race SEED COUNT (this assembly holds tests: run them with dotnet test)");
            return 2;
        }

        var store = new PostgreSqlContactStore(connectionString);
        await using (store)
        {
            var reconciler = mode == "race" ? new IdentityReconciler(store, ContactStoreContractTests.RaceGuards) : new IdentityReconciler(store);
            await store.FindClustersAsync(new ContactIdentifiers("warm-up@x.io", null));

            // Start together with the other processes: say we are ready, then wait for the word.
            Console.WriteLine("ready");
            if (await Console.In.ReadLineAsync() != "go")
            {
                return 3;
            }

            var (seed, count) = (int.Parse(seedText, CultureInfo.InvariantCulture), int.Parse(countText, CultureInfo.InvariantCulture));
            var requests = mode == "race" ? ContactStoreContractTests.RaceRequests(seed, count) : PostgreSqlMultiProcessTests.Requests(seed, count);
            await Parallel.ForEachAsync(requests.Chunk(50), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (chunk, ct) =>
            {
                foreach (var (email, phone) in chunk)
                {
                    await reconciler.IdentifyAsync(new IdentifyRequest(email, phone), ct);
                }
            });
        }

        Console.WriteLine("done");
        return 0;
    }
}
