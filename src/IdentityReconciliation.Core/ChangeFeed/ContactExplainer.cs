namespace IdentityReconciliation;

/// <summary>
/// Finds why two contacts are one person, from the person's current rows and links: the explanation rules, pure and
/// beside <see cref="ContactPlanner"/>.
/// </summary>
/// <remarks>
/// Two contacts are joined when they share an email or a phone number, or when a recorded link holds the email of one and
/// the phone number of the other. The path is the shortest over those joins (breadth-first, ties broken by the lower
/// contact identifier, emails before phone numbers before links). Only when no such path exists (a merge made before the
/// store kept evidence) does the search also follow each contact's link to its primary.
/// </remarks>
public static class ContactExplainer
{
    /// <summary>Explains why two contacts of one person belong together.</summary>
    /// <param name="person">The person that <paramref name="contactId"/> belongs to.</param>
    /// <param name="contactId">The contact to start from.</param>
    /// <param name="otherContactId">The contact to reach.</param>
    /// <returns>The shortest path, or <see langword="null"/> when either contact is not one of the person's contacts.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="person"/> is <see langword="null"/>.</exception>
    public static ContactExplanation? Explain(PersonGraph person, long contactId, long otherContactId)
    {
        ArgumentNullException.ThrowIfNull(person);
        var byId = new Dictionary<long, Contact>(person.Contacts.Count);
        foreach (var contact in person.Contacts)
        {
            byId[contact.Id] = contact;
        }

        if (!byId.TryGetValue(contactId, out var start) || !byId.TryGetValue(otherContactId, out _))
        {
            return null;
        }

        var primary = start.RootId;
        if (contactId == otherContactId)
        {
            return new ContactExplanation(primary, []);
        }

        var graph = new Graph(person, byId);
        var steps = graph.ShortestPath(contactId, otherContactId, followPrimaryLinks: false)
            ?? graph.ShortestPath(contactId, otherContactId, followPrimaryLinks: true);
        return steps is null ? null : new ContactExplanation(primary, steps);
    }

    private sealed class Graph
    {
        private readonly Dictionary<long, Contact> _byId;
        private readonly IReadOnlyList<Contact> _ordered;
        private readonly Dictionary<string, List<Contact>> _byEmail = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<Contact>> _byPhone = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<ContactLink>> _linksByEmail = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<ContactLink>> _linksByPhone = new(StringComparer.Ordinal);
        private readonly Dictionary<long, List<Contact>> _secondaries = [];

        public Graph(PersonGraph person, Dictionary<long, Contact> byId)
        {
            _byId = byId;
            _ordered = [.. person.Contacts.OrderBy(static c => c.Id)];
            foreach (var contact in _ordered)
            {
                if (contact.Email is { } email)
                {
                    Add(_byEmail, email, contact);
                }

                if (contact.PhoneNumber is { } phone)
                {
                    Add(_byPhone, phone, contact);
                }

                if (contact.LinkedId is { } linked)
                {
                    Add(_secondaries, linked, contact);
                }
            }

            foreach (var link in person.Links)
            {
                Add(_linksByEmail, link.Email, link);
                Add(_linksByPhone, link.PhoneNumber, link);
            }
        }

        public List<ContactExplanationStep>? ShortestPath(long from, long to, bool followPrimaryLinks)
        {
            var reachedBy = new Dictionary<long, ContactExplanationStep?> { [from] = null };
            var queue = new Queue<Contact>();
            queue.Enqueue(_byId[from]);

            // Each value group is expanded once: the first time reaches every member, so the search stays linear in the
            // person's size even around a value that thousands of contacts share.
            var expanded = new HashSet<(ContactJoinKind, string)>();
            while (queue.Count > 0)
            {
                var current = queue.Dequeue();
                foreach (var step in Neighbours(current, followPrimaryLinks, expanded))
                {
                    if (reachedBy.TryAdd(step.To.Id, step))
                    {
                        if (step.To.Id == to)
                        {
                            return Path(reachedBy, to);
                        }

                        queue.Enqueue(step.To);
                    }
                }
            }

            return null;
        }

        private IEnumerable<ContactExplanationStep> Neighbours(Contact contact, bool followPrimaryLinks, HashSet<(ContactJoinKind, string)> expanded)
        {
            if (contact.Email is { } email && expanded.Add((ContactJoinKind.SharedEmail, email)))
            {
                foreach (var other in _byEmail[email])
                {
                    if (other.Id != contact.Id)
                    {
                        yield return new ContactExplanationStep(contact, other, ContactJoinKind.SharedEmail, null);
                    }
                }

                foreach (var link in _linksByEmail.GetValueOrDefault(email) ?? [])
                {
                    foreach (var other in _byPhone.GetValueOrDefault(link.PhoneNumber) ?? [])
                    {
                        if (other.Id != contact.Id)
                        {
                            yield return new ContactExplanationStep(contact, other, ContactJoinKind.MergeLink, link);
                        }
                    }
                }
            }

            if (contact.PhoneNumber is { } phone && expanded.Add((ContactJoinKind.SharedPhoneNumber, phone)))
            {
                foreach (var other in _byPhone[phone])
                {
                    if (other.Id != contact.Id)
                    {
                        yield return new ContactExplanationStep(contact, other, ContactJoinKind.SharedPhoneNumber, null);
                    }
                }

                foreach (var link in _linksByPhone.GetValueOrDefault(phone) ?? [])
                {
                    foreach (var other in _byEmail.GetValueOrDefault(link.Email) ?? [])
                    {
                        if (other.Id != contact.Id)
                        {
                            yield return new ContactExplanationStep(contact, other, ContactJoinKind.MergeLink, link);
                        }
                    }
                }
            }

            if (followPrimaryLinks)
            {
                if (contact.LinkedId is { } primaryId && _byId.TryGetValue(primaryId, out var primary))
                {
                    yield return new ContactExplanationStep(contact, primary, ContactJoinKind.PrimaryLink, null);
                }

                foreach (var secondary in _secondaries.GetValueOrDefault(contact.Id) ?? [])
                {
                    yield return new ContactExplanationStep(contact, secondary, ContactJoinKind.PrimaryLink, null);
                }
            }
        }

        private static List<ContactExplanationStep> Path(Dictionary<long, ContactExplanationStep?> reachedBy, long to)
        {
            var steps = new List<ContactExplanationStep>();
            for (var step = reachedBy[to]; step is not null; step = reachedBy[step.From.Id])
            {
                steps.Add(step);
            }

            steps.Reverse();
            return steps;
        }

        private static void Add<TKey, TValue>(Dictionary<TKey, List<TValue>> map, TKey key, TValue value)
            where TKey : notnull
        {
            if (!map.TryGetValue(key, out var list))
            {
                map[key] = list = [];
            }

            list.Add(value);
        }
    }
}
