namespace IdentityReconciliation.Testing;

/// <summary>
/// What the processes of a multi-process test send (the test and <c>IdentityReconciliation.Testing.Host</c> compute the
/// same requests): deterministic from a seed, so that the test knows every request every process sent.
/// </summary>
public static class MultiProcessRequests
{
    /// <summary>The universe of the SQLite hammer: small enough for frequent merges, large enough to reach the default guards' limits.</summary>
    public const int SqliteUniverse = 400;

    /// <summary>The universe of the PostgreSQL hammer: small enough for frequent merges, large enough to reach the default guards' limits.</summary>
    public const int PostgreSqlUniverse = 300;

    /// <summary>The phone every hub request shares.</summary>
    public const string HubPhone = "+15550100";

    /// <summary>The requests a process sends: deterministic from its seed, over a small universe so that merges are frequent.</summary>
    public static IEnumerable<(string? Email, string? Phone)> Random(int seed, int count, int universe)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            yield return ContactStoreContractTests.RandomRequest(random, universe);
        }
    }

    /// <summary>New emails on one shared phone: the requests that would make a hub person without the guards.</summary>
    public static IEnumerable<(string? Email, string? Phone)> Hub(string prefix, int count) =>
        Enumerable.Range(0, count).Select(i => ((string?)$"{prefix}{i}@x.io", (string?)HubPhone));

    /// <summary>The email of the <paramref name="index"/>th new person of a crash child's <paramref name="caller"/>.</summary>
    public static string CrashEmail(int caller, int index) => $"crash{caller}-{index}@x.io";
}
