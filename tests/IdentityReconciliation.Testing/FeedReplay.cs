namespace IdentityReconciliation.Testing;

/// <summary>
/// Replays change-feed entries with the one rule <see cref="ContactChange"/> states: after an entry, its contact and its
/// related contacts belong to its primary, or its contact is gone when the primary is null. Knows nothing of the planners.
/// </summary>
public static class FeedReplay
{
    /// <summary>The primary of every contact after replaying <paramref name="entries"/> in order.</summary>
    public static IReadOnlyDictionary<long, long> PrimaryOf(IEnumerable<ContactChange> entries)
    {
        var primaryOf = new Dictionary<long, long>();
        foreach (var entry in entries)
        {
            if (entry.PrimaryContactId is { } primary)
            {
                primaryOf[entry.ContactId] = primary;
                foreach (var related in entry.RelatedContactIds)
                {
                    primaryOf[related] = primary;
                }
            }
            else
            {
                primaryOf.Remove(entry.ContactId);
            }
        }

        return primaryOf;
    }

    /// <summary>Asserts that replaying <paramref name="entries"/> gives each live row its primary, and no other contact.</summary>
    public static void AssertRebuilds(IEnumerable<ContactChange> entries, IReadOnlyList<Contact> rows)
    {
        var expected = rows.Where(r => r.DeletedAt is null).ToDictionary(r => r.Id, r => r.RootId);
        PrimaryOf(entries).Should().BeEquivalentTo(expected, "replaying the feed rebuilds the grouping of contacts into persons");
    }

    /// <summary>Reads the whole feed in pages of <paramref name="pageSize"/>.</summary>
    public static async Task<List<ContactChange>> ReadAllAsync(Func<long, int, Task<IReadOnlyList<ContactChange>>> read, int pageSize = 1000)
    {
        var all = new List<ContactChange>();
        var after = 0L;
        while (true)
        {
            var page = await read(after, pageSize);
            if (page.Count == 0)
            {
                return all;
            }

            all.AddRange(page);
            after = page[^1].Sequence;
        }
    }
}
