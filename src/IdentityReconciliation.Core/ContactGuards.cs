namespace IdentityReconciliation;

/// <summary>
/// The guards against identity collapse (<see cref="IdentityReconciliationOptions"/>), pure and independent of storage
/// like <see cref="ContactPlanner"/>, whose rules they wrap:
/// <list type="number">
/// <item><description>Before matching, a blocked identifier is set aside (<see cref="WithoutBlocked"/>); a request left
/// with no identifier is rejected.</description></item>
/// <item><description>Inside the store's atomic unit (<see cref="Plan"/>): when the change the planner proposes would give
/// the person more distinct emails or phone numbers than its limit, the request's lower-priority identifier is set aside
/// and the planner plans again over just the clusters the remaining identifier touches, exactly as if the request had been
/// sent without it. A request with one identifier never adds one to a person, so it is planned as it is.</description></item>
/// </list>
/// </summary>
internal sealed class ContactGuards
{
    private readonly HashSet<string> _blockedEmails;
    private readonly HashSet<string> _blockedPhoneNumbers;
    private readonly bool _useDefaultBlocklist;

    /// <summary>Compiles the options; blocked values are normalised with <paramref name="normalizer"/>.</summary>
    public ContactGuards(IdentityReconciliationOptions options, IContactNormalizer normalizer)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(normalizer);
        _blockedEmails = Normalise(options.BlockedEmails, normalizer.NormalizeEmail);
        _blockedPhoneNumbers = Normalise(options.BlockedPhoneNumbers, normalizer.NormalizePhoneNumber);
        _useDefaultBlocklist = options.UseDefaultBlocklist;
        MaxEmails = options.MaxEmailsPerPerson;
        MaxPhoneNumbers = options.MaxPhoneNumbersPerPerson;
        Priority = options.IdentifierPriority;
    }

    public int? MaxEmails { get; }

    public int? MaxPhoneNumbers { get; }

    public IdentifierPriority Priority { get; }

    public bool IsBlockedEmail(string email) =>
        _blockedEmails.Contains(email) || (_useDefaultBlocklist && DefaultBlocklist.IsBlockedEmail(email));

    public bool IsBlockedPhoneNumber(string phoneNumber) =>
        _blockedPhoneNumbers.Contains(phoneNumber) || (_useDefaultBlocklist && DefaultBlocklist.IsBlockedPhoneNumber(phoneNumber));

    /// <summary>
    /// Guard 1: sets aside a blocked identifier. At most one can be set aside: when every identifier of the request is
    /// blocked, the request is rejected.
    /// </summary>
    /// <param name="identifiers">The validated identifiers.</param>
    /// <param name="setAside">The identifier that was set aside, or <see langword="null"/>.</param>
    /// <returns>The identifiers to match with.</returns>
    /// <exception cref="InvalidIdentifyRequestException">Every identifier of the request is blocked. The message never contains the value.</exception>
    public ContactIdentifiers WithoutBlocked(ContactIdentifiers identifiers, out SetAsideIdentifier? setAside)
    {
        var email = identifiers.Email;
        var phoneNumber = identifiers.PhoneNumber;
        var emailBlocked = email is not null && IsBlockedEmail(email);
        var phoneNumberBlocked = phoneNumber is not null && IsBlockedPhoneNumber(phoneNumber);
        setAside = null;
        if (!emailBlocked && !phoneNumberBlocked)
        {
            return identifiers;
        }

        if ((emailBlocked || email is null) && (phoneNumberBlocked || phoneNumber is null))
        {
            throw emailBlocked && phoneNumberBlocked
                ? new InvalidIdentifyRequestException(
                    "email and phoneNumber are placeholder values that are never used to identify a person; send a real email or phone number.",
                    "request",
                    InvalidIdentifyRequestReason.Blocked)
                : emailBlocked
                    ? new InvalidIdentifyRequestException("email is a placeholder value that is never used to identify a person.", "email", InvalidIdentifyRequestReason.Blocked)
                    : new InvalidIdentifyRequestException("phoneNumber is a placeholder value that is never used to identify a person.", "phoneNumber", InvalidIdentifyRequestReason.Blocked);
        }

        if (emailBlocked)
        {
            setAside = new SetAsideIdentifier(ContactIdentifierKind.Email, email!, SetAsideReason.Blocked);
            return new ContactIdentifiers(null, phoneNumber);
        }

        setAside = new SetAsideIdentifier(ContactIdentifierKind.PhoneNumber, phoneNumber!, SetAsideReason.Blocked);
        return new ContactIdentifiers(email, null);
    }

    /// <summary>
    /// Guard 2: plans a request (<see cref="ContactPlanner.Plan"/>) so that no person exceeds a limit. Pure: stores may call
    /// it more than once.
    /// </summary>
    /// <param name="identifiers">The identifiers left after <see cref="WithoutBlocked"/>.</param>
    /// <param name="touched">The touched clusters of <paramref name="identifiers"/>.</param>
    /// <param name="now">The time of the change (UTC).</param>
    /// <returns>The change set, with what it was planned from.</returns>
    public GuardedPlan Plan(ContactIdentifiers identifiers, IReadOnlyList<Contact> touched, DateTimeOffset now)
    {
        var changes = ContactPlanner.Plan(identifiers, touched, now);
        if (changes.IsEmpty || touched.Count == 0 || identifiers.Email is not { } email || identifiers.PhoneNumber is not { } phoneNumber)
        {
            return new GuardedPlan(changes, identifiers, touched, null, null);
        }

        // The plan joins every touched cluster into one person with the request's identifiers: count what that person holds.
        var emailsOver = MaxEmails is { } maxEmails && Exceeds(touched, email, phone: false, maxEmails);
        var phoneNumbersOver = MaxPhoneNumbers is { } maxPhoneNumbers && Exceeds(touched, phoneNumber, phone: true, maxPhoneNumbers);
        if (!emailsOver && !phoneNumbersOver)
        {
            return new GuardedPlan(changes, identifiers, touched, null, null);
        }

        // Name the limit of the identifier that is set aside when it is the one exceeded, else the other one.
        var keepEmail = Priority == IdentifierPriority.EmailFirst;
        SetAsideIdentifier setAside;
        ContactIdentifiers remaining;
        if (keepEmail)
        {
            setAside = new SetAsideIdentifier(ContactIdentifierKind.PhoneNumber, phoneNumber, phoneNumbersOver ? SetAsideReason.PhoneNumberLimit : SetAsideReason.EmailLimit);
            remaining = new ContactIdentifiers(email, null);
        }
        else
        {
            setAside = new SetAsideIdentifier(ContactIdentifierKind.Email, email, emailsOver ? SetAsideReason.EmailLimit : SetAsideReason.PhoneNumberLimit);
            remaining = new ContactIdentifiers(null, phoneNumber);
        }

        // The person that would have grown: the primary the refused plan links everything to.
        var limited = changes.Insert?.LinkedId;
        foreach (var update in changes.Updates)
        {
            limited ??= update.LinkedId;
        }

        var subset = TouchedBy(remaining, touched);
        return new GuardedPlan(ContactPlanner.Plan(remaining, subset, now), remaining, subset, setAside, limited);
    }

    /// <summary>
    /// The contacts of <paramref name="contacts"/> that belong to the touched clusters of <paramref name="identifiers"/>,
    /// in their order: those whose identifier or link is the root of a contact holding the email or the phone number (the
    /// definition of <see cref="IContactStore"/>).
    /// </summary>
    public static IReadOnlyList<Contact> TouchedBy(ContactIdentifiers identifiers, IReadOnlyList<Contact> contacts)
    {
        HashSet<long>? roots = null;
        foreach (var contact in contacts)
        {
            if ((identifiers.Email is not null && string.Equals(contact.Email, identifiers.Email, StringComparison.Ordinal))
                || (identifiers.PhoneNumber is not null && string.Equals(contact.PhoneNumber, identifiers.PhoneNumber, StringComparison.Ordinal)))
            {
                (roots ??= []).Add(contact.RootId);
            }
        }

        if (roots is null)
        {
            return [];
        }

        var result = new List<Contact>(contacts.Count);
        foreach (var contact in contacts)
        {
            if (roots.Contains(contact.Id) || (contact.LinkedId is { } linkedId && roots.Contains(linkedId)))
            {
                result.Add(contact);
            }
        }

        return result;
    }

    /// <summary>Whether the distinct values of <paramref name="touched"/> plus <paramref name="value"/> are more than <paramref name="limit"/>.</summary>
    private static bool Exceeds(IReadOnlyList<Contact> touched, string value, bool phone, int limit)
    {
        if (touched.Count + 1 <= limit)
        {
            return false; // cannot hold more distinct values than contacts: no need to count
        }

        var seen = new HashSet<string>(StringComparer.Ordinal) { value };
        foreach (var contact in touched)
        {
            if ((phone ? contact.PhoneNumber : contact.Email) is { } other && seen.Add(other) && seen.Count > limit)
            {
                return true;
            }
        }

        return seen.Count > limit;
    }

    private static HashSet<string> Normalise(IList<string> values, Func<string?, string?> normalise)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            if (normalise(value) is { } normalised)
            {
                set.Add(normalised);
            }
        }

        return set;
    }
}

/// <summary>What <see cref="ContactGuards.Plan"/> decided.</summary>
/// <param name="Changes">The change set to apply.</param>
/// <param name="Identifiers">The identifiers it was planned for: the request's, or the one left when the other was set aside.</param>
/// <param name="Touched">The contacts it was planned from: the clusters <paramref name="Identifiers"/> touch.</param>
/// <param name="SetAside">The identifier set aside to respect a limit, or <see langword="null"/>.</param>
/// <param name="LimitedPrimaryContactId">When one was set aside, the primary of the person that would have exceeded its limit.</param>
internal readonly record struct GuardedPlan(
    ContactChangeSet Changes,
    ContactIdentifiers Identifiers,
    IReadOnlyList<Contact> Touched,
    SetAsideIdentifier? SetAside,
    long? LimitedPrimaryContactId);
