namespace IdentityReconciliation;

/// <summary>
/// The reconciliation rules, in one place and independent of storage. Every <see cref="IContactStore"/> loads the
/// contacts of the clusters a request touches and applies the <see cref="ContactChangeSet"/> planned here.
/// </summary>
/// <remarks>
/// <list type="number">
/// <item><description>Identifiers are normalised first (<see cref="IContactNormalizer"/>; by default an email is trimmed, put
/// in Unicode NFC and lower-cased, a phone number loses its separators); an empty value counts as absent.</description></item>
/// <item><description>Validation (<see cref="Validate(string?, string?)"/>): at least one identifier; neither contains a control character
/// (C0, DEL or C1), a bidirectional text control (U+200E, U+200F, U+061C, U+202A–U+202E, U+2066–U+2069) or an unpaired
/// surrogate; an email holds no character that shows nothing (U+00AD, U+034F, U+115F, U+1160, U+17B4, U+17B5, U+180E,
/// U+200B, U+2060–U+2064, U+3164, U+FEFF, U+FFA0: it would be a second address that reads like the first; an erasure
/// accepts them, for values stored before this rule); an email has exactly one <c>@</c> with a non-empty local part
/// and domain and at most 320 characters; a phone number is an optional leading <c>+</c> and 1–32 ASCII digits
/// <c>0</c>–<c>9</c>. Other digits (full-width, Arabic-Indic,
/// Devanagari...) are rejected, not mapped: the same number written in two scripts would otherwise be one person for this
/// normaliser and two for any other system that stores the raw digits. A bad request throws
/// <see cref="InvalidIdentifyRequestException"/> and writes nothing.</description></item>
/// <item><description>No live contact shares the email or the phone number: insert a new primary.</description></item>
/// <item><description>Contacts match and the request brings an email or a phone number the cluster does not have yet:
/// insert one secondary with the request's email and phone number, linked to the cluster's primary.</description></item>
/// <item><description>The request touches two clusters: nothing is inserted; the older primary (earliest <c>createdAt</c>,
/// ties broken by the lower <c>id</c>) stays primary; the other primary becomes its secondary and every secondary of the
/// other primary is re-pointed to it, so that there are never chains. Every changed row gets a new <c>updatedAt</c>. The
/// request's email and phone number are recorded as merge evidence (<see cref="ContactLink"/>), which re-resolution after an
/// erasure (<see cref="ErasurePlanner"/>) relies on.</description></item>
/// <item><description>Otherwise nothing is written.</description></item>
/// <item><description>The view (<see cref="Consolidate"/>): the primary's email and phone number first, then the others in
/// the order of their contacts' identifiers, without duplicates or nulls; secondary identifiers ascending. Soft-deleted
/// contacts neither match nor appear.</description></item>
/// </list>
/// </remarks>
public static class ContactPlanner
{
    /// <summary>The longest email accepted.</summary>
    public const int MaxEmailLength = 320;

    /// <summary>The most digits a phone number may have.</summary>
    public const int MaxPhoneDigits = 32;

    /// <summary>
    /// Validates normalised identifiers (rule 2) and returns them as <see cref="ContactIdentifiers"/>.
    /// </summary>
    /// <param name="email">The normalised email, or <see langword="null"/>.</param>
    /// <param name="phoneNumber">The normalised phone number, or <see langword="null"/>.</param>
    /// <returns>The validated identifiers.</returns>
    /// <exception cref="InvalidIdentifyRequestException">Both are absent, or one is malformed. The message never contains the value.</exception>
    public static ContactIdentifiers Validate(string? email, string? phoneNumber) => Validate(email, phoneNumber, erasure: false);

    /// <summary>
    /// <see cref="Validate(string?, string?)"/>; for an erasure (<paramref name="erasure"/>), an email may hold a character
    /// that shows nothing, so that a value an earlier version stored with one can still be erased by value.
    /// </summary>
    internal static ContactIdentifiers Validate(string? email, string? phoneNumber, bool erasure)
    {
        if (email is null && phoneNumber is null)
        {
            throw new InvalidIdentifyRequestException("At least one of email or phoneNumber is required.", "request", InvalidIdentifyRequestReason.MissingIdentifier);
        }

        if (email is not null)
        {
            if (IdentifierText.HasInvisibleCharacter(email))
            {
                throw new InvalidIdentifyRequestException("email must not contain control characters or bidirectional text controls.", "email", InvalidIdentifyRequestReason.InvisibleCharacter);
            }

            if (!erasure && IdentifierText.HasBlankCharacter(email))
            {
                throw new InvalidIdentifyRequestException("email must not contain invisible characters (a zero-width space, a soft hyphen, a byte-order mark, a filler).", "email", InvalidIdentifyRequestReason.InvisibleCharacter);
            }

            if (!IdentifierText.IsValidUtf16(email))
            {
                throw new InvalidIdentifyRequestException("email must be valid Unicode text (it contains an unpaired surrogate).", "email", InvalidIdentifyRequestReason.InvalidText);
            }

            if (email.Length > MaxEmailLength)
            {
                throw new InvalidIdentifyRequestException($"email must be at most {MaxEmailLength} characters.", "email", InvalidIdentifyRequestReason.TooLong);
            }

            var at = email.IndexOf('@', StringComparison.Ordinal);
            if (at <= 0 || at == email.Length - 1 || email.IndexOf('@', at + 1) >= 0)
            {
                throw new InvalidIdentifyRequestException("email must contain exactly one '@' with a non-empty local part and domain.", "email", InvalidIdentifyRequestReason.MalformedEmail);
            }
        }

        if (phoneNumber is not null)
        {
            if (IdentifierText.HasInvisibleCharacter(phoneNumber))
            {
                throw new InvalidIdentifyRequestException("phoneNumber must not contain control characters or bidirectional text controls.", "phoneNumber", InvalidIdentifyRequestReason.InvisibleCharacter);
            }

            var digits = phoneNumber.AsSpan(phoneNumber.StartsWith('+') ? 1 : 0);
            if (digits.Length is 0 or > MaxPhoneDigits || digits.ContainsAnyExceptInRange('0', '9'))
            {
                throw new InvalidIdentifyRequestException(
                    $"phoneNumber must be an optional leading '+' followed by 1 to {MaxPhoneDigits} ASCII digits 0-9 (spaces, '-', '.', '(' and ')' are ignored).",
                    "phoneNumber",
                    InvalidIdentifyRequestReason.MalformedPhoneNumber);
            }
        }

        return new ContactIdentifiers(email, phoneNumber);
    }

    /// <summary>
    /// Plans what a request changes (rules 3 to 6), given the live contacts of every cluster it touches.
    /// </summary>
    /// <param name="identifiers">The request's validated identifiers.</param>
    /// <param name="touched">
    /// Every live contact of every cluster that has a contact with the request's email or phone number, and nothing else.
    /// </param>
    /// <param name="now">The time of the change (UTC).</param>
    /// <returns>The change set; <see cref="ContactChangeSet.Empty"/> when nothing changes.</returns>
    public static ContactChangeSet Plan(ContactIdentifiers identifiers, IReadOnlyList<Contact> touched, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(touched);

        // Rule 3: nothing matches.
        if (touched.Count == 0)
        {
            return new ContactChangeSet(new NewContact(identifiers.Email, identifiers.PhoneNumber, null, LinkPrecedence.Primary, now), []);
        }

        // Rule 5: the oldest primary among the touched clusters heads the person.
        var winner = OldestPrimary(touched);

        // Every other contact must link straight to it. In a consistent graph this changes only the other cluster's
        // primary and its secondaries; it also repairs a cluster whose primary was deleted, or a chain written by others.
        List<ContactUpdate>? updates = null;
        foreach (var contact in touched)
        {
            var isWinner = contact.Id == winner.Id;
            var linkedId = isWinner ? (long?)null : winner.Id;
            var precedence = isWinner ? LinkPrecedence.Primary : LinkPrecedence.Secondary;
            if (contact.LinkedId != linkedId || contact.LinkPrecedence != precedence)
            {
                (updates ??= []).Add(new ContactUpdate(contact.Id, linkedId, precedence, now));
            }
        }

        // Rule 4: new information becomes one secondary of the (surviving) primary.
        NewContact? insert = null;
        if (!Contains(touched, identifiers.Email, phone: false) || !Contains(touched, identifiers.PhoneNumber, phone: true))
        {
            insert = new NewContact(identifiers.Email, identifiers.PhoneNumber, winner.Id, LinkPrecedence.Secondary, now);
        }

        if (insert is null && updates is null)
        {
            return ContactChangeSet.Empty; // Rule 6.
        }

        // Rule 5: a join that inserts no row leaves evidence of why the two halves belong together.
        ContactLink? link = null;
        if (insert is null && identifiers is { Email: { } email, PhoneNumber: { } phone } && Bridges(touched, email, phone))
        {
            link = new ContactLink(email, phone, now);
        }

        updates?.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return new ContactChangeSet(insert, (IReadOnlyList<ContactUpdate>?)updates ?? [], link);
    }

    /// <summary>
    /// Builds the consolidated view of one cluster (rule 7).
    /// </summary>
    /// <param name="cluster">The live contacts of one cluster, as returned by <see cref="IContactStore.ReconcileAsync(ContactIdentifiers, Func{IReadOnlyList{Contact}, ContactChangeSet}, CancellationToken)"/>.</param>
    /// <returns>The view, or <see langword="null"/> when <paramref name="cluster"/> is empty.</returns>
    /// <exception cref="InvalidOperationException">The contacts do not form exactly one cluster with one primary.</exception>
    public static ContactCluster? Consolidate(IReadOnlyList<Contact> cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        if (cluster.Count == 0)
        {
            return null;
        }

        Contact? primary = null;
        foreach (var contact in cluster)
        {
            if (contact.LinkPrecedence == LinkPrecedence.Primary)
            {
                if (primary is not null)
                {
                    throw new InvalidOperationException($"Contacts {primary.Id} and {contact.Id} are both primary: they do not form one cluster.");
                }

                primary = contact;
            }
        }

        if (primary is null)
        {
            throw new InvalidOperationException("The contacts have no primary contact.");
        }

        var ordered = IsAscending(cluster) ? cluster : cluster.OrderBy(static c => c.Id).ToArray();
        var emails = new List<string>(1);
        var phones = new List<string>(1);
        var secondaries = new List<long>(ordered.Count - 1);
        // A large cluster (stored without limits, or before they were lowered) is deduplicated through a set, not a list scan.
        var seenEmails = ordered.Count > 16 ? new HashSet<string>(StringComparer.Ordinal) : null;
        var seenPhones = seenEmails is null ? null : new HashSet<string>(StringComparer.Ordinal);
        AddDistinct(emails, primary.Email, seenEmails);
        AddDistinct(phones, primary.PhoneNumber, seenPhones);
        foreach (var contact in ordered)
        {
            if (contact.Id == primary.Id)
            {
                continue;
            }

            if (contact.LinkedId != primary.Id)
            {
                throw new InvalidOperationException($"Contact {contact.Id} does not link to primary {primary.Id}.");
            }

            AddDistinct(emails, contact.Email, seenEmails);
            AddDistinct(phones, contact.PhoneNumber, seenPhones);
            secondaries.Add(contact.Id);
        }

        return new ContactCluster(primary.Id, emails, phones, secondaries);
    }

    private static Contact OldestPrimary(IReadOnlyList<Contact> touched)
    {
        // The head of each cluster is its primary. A cluster whose primary is missing (soft-deleted) is headed by its
        // oldest live contact, which the plan then promotes. The oldest head is the oldest among the primaries and those
        // orphaned secondaries, because every orphan is at least as old as its cluster's head.
        var ascending = IsAscending(touched);
        Contact? winner = null;
        foreach (var contact in touched)
        {
            var isCandidate = contact.LinkPrecedence == LinkPrecedence.Primary || !HasPrimary(touched, contact.RootId, ascending);
            if (isCandidate && (winner is null || IsOlder(contact, winner)))
            {
                winner = contact;
            }
        }

        return winner!;
    }

    private static bool HasPrimary(IReadOnlyList<Contact> touched, long id, bool ascending)
    {
        if (ascending)
        {
            // Stores return contacts in id order: a binary search keeps large clusters O(n log n), allocation-free.
            int low = 0, high = touched.Count - 1;
            while (low <= high)
            {
                var middle = low + ((high - low) / 2);
                var candidate = touched[middle];
                if (candidate.Id == id)
                {
                    return candidate.LinkPrecedence == LinkPrecedence.Primary;
                }

                if (candidate.Id < id)
                {
                    low = middle + 1;
                }
                else
                {
                    high = middle - 1;
                }
            }

            return false;
        }

        foreach (var contact in touched)
        {
            if (contact.Id == id)
            {
                return contact.LinkPrecedence == LinkPrecedence.Primary;
            }
        }

        return false;
    }

    private static bool IsAscending(IReadOnlyList<Contact> contacts)
    {
        for (var i = 1; i < contacts.Count; i++)
        {
            if (contacts[i - 1].Id >= contacts[i].Id)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsOlder(Contact a, Contact b) => a.CreatedAt < b.CreatedAt || (a.CreatedAt == b.CreatedAt && a.Id < b.Id);

    private static bool Contains(IReadOnlyList<Contact> touched, string? value, bool phone)
    {
        if (value is null)
        {
            return true;
        }

        foreach (var contact in touched)
        {
            if (string.Equals(phone ? contact.PhoneNumber : contact.Email, value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether the email and the phone number are held by contacts of different clusters (the request joins them).</summary>
    private static bool Bridges(IReadOnlyList<Contact> touched, string email, string phone)
    {
        long? emailRoot = null;
        var emailInSeveral = false;
        foreach (var contact in touched)
        {
            if (string.Equals(contact.Email, email, StringComparison.Ordinal))
            {
                emailInSeveral |= emailRoot is { } root && root != contact.RootId;
                emailRoot ??= contact.RootId;
            }
        }

        if (emailRoot is null)
        {
            return false;
        }

        foreach (var contact in touched)
        {
            if (string.Equals(contact.PhoneNumber, phone, StringComparison.Ordinal) && (emailInSeveral || contact.RootId != emailRoot))
            {
                return true;
            }
        }

        return false;
    }

    private static void AddDistinct(List<string> values, string? value, HashSet<string>? seen)
    {
        if (value is not null && (seen is null ? !values.Contains(value) : seen.Add(value)))
        {
            values.Add(value);
        }
    }
}
