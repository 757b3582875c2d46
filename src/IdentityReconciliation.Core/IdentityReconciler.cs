using System.Diagnostics;
using IdentityReconciliation.Diagnostics;
using IdentityReconciliation.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation;

/// <summary>
/// The default <see cref="IIdentityReconciler"/>: normalises and validates a request, then lets the
/// <see cref="IContactStore"/> apply the plan of <see cref="ContactPlanner"/> atomically.
/// </summary>
/// <remarks>
/// A request that changes nothing (the common case of a returning customer) is answered from a read-only lookup and
/// never takes the store's write lock; one that changes something is planned again inside the store's atomic unit, so
/// that a concurrent write in between is never lost. Both paths apply the guards of
/// <see cref="IdentityReconciliationOptions"/>: blocked values are set aside before the store is called, and the
/// per-person limits are checked inside the atomic unit.
/// </remarks>
public sealed partial class IdentityReconciler : IIdentityReconciler
{
    private readonly IContactStore _store;
    private readonly IContactNormalizer _normalizer;
    private readonly TimeProvider _timeProvider;
    private readonly ContactGuards _guards;
    private readonly int _chunkSize;
    private readonly ILogger _logger;

    /// <summary>Creates a reconciler over a store, with the default normaliser, the system clock and the default guards.</summary>
    /// <param name="store">The contact store.</param>
    public IdentityReconciler(IContactStore store)
        : this(store, DefaultContactNormalizer.Instance, TimeProvider.System, null)
    {
    }

    /// <summary>Creates a reconciler over a store, with the default normaliser, the system clock and the given guards.</summary>
    /// <param name="store">The contact store.</param>
    /// <param name="options">The guards: blocked values and per-person limits.</param>
    /// <exception cref="OptionsValidationException"><paramref name="options"/> are invalid; the message names the setting.</exception>
    public IdentityReconciler(IContactStore store, IdentityReconciliationOptions options)
        : this(store, DefaultContactNormalizer.Instance, TimeProvider.System, Options.Create(options ?? throw new ArgumentNullException(nameof(options))), null)
    {
    }

    /// <summary>Creates a reconciler with the default guards (<see cref="IdentityReconciliationOptions"/>).</summary>
    /// <param name="store">The contact store.</param>
    /// <param name="normalizer">The identifier normaliser.</param>
    /// <param name="timeProvider">The clock for <c>createdAt</c> and <c>updatedAt</c>.</param>
    /// <param name="logger">The logger, or <see langword="null"/> for none.</param>
    public IdentityReconciler(IContactStore store, IContactNormalizer normalizer, TimeProvider timeProvider, ILogger<IdentityReconciler>? logger)
        : this(store, normalizer, timeProvider, Options.Create(new IdentityReconciliationOptions()), logger)
    {
    }

    /// <summary>Creates a reconciler.</summary>
    /// <param name="store">The contact store.</param>
    /// <param name="normalizer">The identifier normaliser; blocked values are normalised with it too.</param>
    /// <param name="timeProvider">The clock for <c>createdAt</c> and <c>updatedAt</c>.</param>
    /// <param name="options">The guards: blocked values and per-person limits, read once.</param>
    /// <param name="logger">The logger, or <see langword="null"/> for none.</param>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names the setting.</exception>
    public IdentityReconciler(
        IContactStore store,
        IContactNormalizer normalizer,
        TimeProvider timeProvider,
        IOptions<IdentityReconciliationOptions> options,
        ILogger<IdentityReconciler>? logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(normalizer);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value ?? throw new ArgumentException("The options have no value.", nameof(options));
        var validation = IdentityReconciliationOptionsValidator.ValidateAll(Options.DefaultName, value);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(IdentityReconciliationOptions), validation.Failures);
        }

        _store = store;
        _normalizer = normalizer;
        _timeProvider = timeProvider;
        _guards = new ContactGuards(value, normalizer);
        _chunkSize = value.IdentifyManyChunkSize;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Where busy failures and successful writes are reported for the health check; set by dependency injection.</summary>
    internal ContactStoreBusyTracker? BusyTracker { get; init; }

    /// <inheritdoc />
    public async Task<ContactCluster> IdentifyAsync(IdentifyRequest request, CancellationToken cancellationToken = default) =>
        (await IdentifyCoreAsync(request, cancellationToken).ConfigureAwait(false)).Cluster;

    /// <inheritdoc />
    public async Task<IdentifyResult> IdentifyDetailedAsync(IdentifyRequest request, CancellationToken cancellationToken = default) =>
        Describe(await IdentifyCoreAsync(request, cancellationToken).ConfigureAwait(false));

    private async ValueTask<Identified> IdentifyCoreAsync(IdentifyRequest request, CancellationToken cancellationToken)
    {
        var identifiers = Prepare(request, out var blocked);
        using var activity = IdentityReconciliationTelemetry.ActivitySource.StartActivity("IdentityReconciliation.Identify");

        // Fast path: most requests bring nothing new and need no write.
        var snapshot = await Observe(_store.FindClustersAsync(identifiers, cancellationToken)).ConfigureAwait(false);
        if (snapshot.Count > 0)
        {
            var lookup = _guards.Plan(identifiers, snapshot, _timeProvider.GetUtcNow());
            if (lookup.Changes.IsEmpty)
            {
                activity?.SetTag("identity_reconciliation.written", false);
                return Record(new Identified(ContactPlanner.Consolidate(lookup.Touched)!, lookup, blocked), activity);
            }
        }

        // The store calls the plan inside its atomic unit, perhaps more than once: the last call is the one it applied. The
        // snapshot lets a store check and write in one step when nothing changed since the lookup.
        GuardedPlan applied = default;
        var result = await Observe(_store.ReconcileAsync(
            identifiers,
            snapshot,
            touched => (applied = _guards.Plan(identifiers, touched, _timeProvider.GetUtcNow())).Changes,
            cancellationToken)).ConfigureAwait(false);
        BusyTracker?.ReportWriteSucceeded();
        return Conclude(result, applied, blocked, activity);
    }

    /// <inheritdoc />
    public async Task<ContactCluster?> FindAsync(IdentifyRequest request, CancellationToken cancellationToken = default)
    {
        var identifiers = Prepare(request, out _);
        var snapshot = await Observe(_store.FindClustersAsync(identifiers, cancellationToken)).ConfigureAwait(false);
        if (snapshot.Count == 0)
        {
            return null;
        }

        // Show what the person would look like, but write nothing and leave out what no contact has yet; an identifier the
        // guards would set aside is left out as if the request had been sent without it.
        var plan = _guards.Plan(identifiers, snapshot, _timeProvider.GetUtcNow());
        if (plan.Touched.Count == 0)
        {
            return null;
        }

        return ContactPlanner.Consolidate(plan.Changes.Updates.Count == 0 ? plan.Touched : plan.Changes.Apply(plan.Touched, insertedId: null));
    }

    private ContactIdentifiers Validate(IdentifyRequest request, bool erasure)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            return ContactPlanner.Validate(_normalizer.NormalizeEmail(request.Email), _normalizer.NormalizePhoneNumber(request.PhoneNumber), erasure);
        }
        catch (InvalidIdentifyRequestException ex)
        {
            IdentityReconciliationTelemetry.RequestsRejected.Add(1, new KeyValuePair<string, object?>("reason", "invalid"));
            if (erasure)
            {
                Log.ErasureRejected(_logger, ex.Message);
            }
            else
            {
                Log.RequestRejected(_logger, ex.Message);
            }

            throw;
        }
    }

    private ContactIdentifiers Prepare(IdentifyRequest request, out SetAsideIdentifier? blocked)
    {
        var identifiers = Validate(request, erasure: false);
        try
        {
            return _guards.WithoutBlocked(identifiers, out blocked);
        }
        catch (InvalidIdentifyRequestException ex)
        {
            IdentityReconciliationTelemetry.RequestsRejected.Add(1, new KeyValuePair<string, object?>("reason", "blocked"));
            Log.RequestRejected(_logger, ex.Message);
            throw;
        }
    }

    /// <summary>Reports a <see cref="ContactStoreBusyException"/> to the health check; free when the store answered synchronously.</summary>
    private Task<T> Observe<T>(Task<T> task) => BusyTracker is null || task.IsCompletedSuccessfully ? task : ObserveAsync(task, BusyTracker);

    private static async Task<T> ObserveAsync<T>(Task<T> task, ContactStoreBusyTracker tracker)
    {
        try
        {
            return await task.ConfigureAwait(false);
        }
        catch (ContactStoreBusyException)
        {
            tracker.ReportBusy();
            throw;
        }
    }

    /// <summary>Counts and logs what a call did (values never appear), and passes it on.</summary>
    private Identified Record(Identified identified, Activity? activity)
    {
        var cluster = identified.Cluster;
        activity?.SetTag("identity_reconciliation.primary_contact_id", cluster.PrimaryContactId);
        if (identified.Blocked is { } blocked)
        {
            RecordSetAside(blocked, null);
        }

        if (identified.Applied.SetAside is { } limited)
        {
            RecordSetAside(limited, identified.Applied.LimitedPrimaryContactId);
        }

        var changes = identified.Changes;
        if (changes.Insert is { } insert)
        {
            if (insert.LinkPrecedence == LinkPrecedence.Primary)
            {
                IdentityReconciliationTelemetry.ContactsCreated.Add(1, new KeyValuePair<string, object?>("link_precedence", "primary"));
                Log.PrimaryCreated(_logger, cluster.PrimaryContactId);
            }
            else
            {
                IdentityReconciliationTelemetry.ContactsCreated.Add(1, new KeyValuePair<string, object?>("link_precedence", "secondary"));
                Log.SecondaryCreated(_logger, identified.CreatedContactId ?? 0, cluster.PrimaryContactId);
            }
        }

        if (changes.Updates.Count > 0)
        {
            IdentityReconciliationTelemetry.ClustersMerged.Add(1);
            Log.ClustersMerged(_logger, cluster.PrimaryContactId, changes.Updates.Count);
        }

        return identified;
    }

    private void RecordSetAside(SetAsideIdentifier identifier, long? limitedPrimaryContactId)
    {
        var field = identifier.Kind == ContactIdentifierKind.Email ? "email" : "phoneNumber";
        var reason = identifier.Reason switch
        {
            SetAsideReason.Blocked => "blocked",
            SetAsideReason.EmailLimit => "email_limit",
            _ => "phone_number_limit",
        };
        IdentityReconciliationTelemetry.IdentifiersSetAside.Add(
            1,
            new KeyValuePair<string, object?>("reason", reason),
            new KeyValuePair<string, object?>("identifier", identifier.Kind == ContactIdentifierKind.Email ? "email" : "phone_number"));
        if (identifier.Reason == SetAsideReason.Blocked)
        {
            Log.IdentifierBlocked(_logger, field);
        }
        else
        {
            Log.IdentifierOverLimit(_logger, field, limitedPrimaryContactId, identifier.Reason == SetAsideReason.EmailLimit ? "email" : "phone number");
        }
    }

    /// <summary>What a call did, for <see cref="IdentifyDetailedAsync"/>.</summary>
    private static IdentifyResult Describe(Identified identified)
    {
        var cluster = identified.Cluster;
        var blocked = identified.Blocked;
        var limited = identified.Applied.SetAside;
        var setAside = blocked is null
            ? limited is null ? [] : new[] { limited }
            : limited is null ? new[] { blocked } : new[] { blocked, limited };
        var changes = identified.Changes;
        if (changes.IsEmpty)
        {
            return new IdentifyResult(cluster, IdentifyOutcome.Unchanged, null, [], setAside);
        }

        // Every primary the plan was made from, other than the survivor, joined the survivor's person.
        List<long>? merged = null;
        foreach (var contact in identified.Applied.Touched)
        {
            if (contact.LinkPrecedence == LinkPrecedence.Primary && contact.Id != cluster.PrimaryContactId)
            {
                (merged ??= []).Add(contact.Id);
            }
        }

        merged?.Sort();
        var outcome = changes.Insert?.LinkPrecedence switch
        {
            LinkPrecedence.Primary => IdentifyOutcome.PrimaryCreated,
            _ when merged is not null => IdentifyOutcome.PersonsMerged,
            LinkPrecedence.Secondary => IdentifyOutcome.SecondaryCreated,
            _ => IdentifyOutcome.Relinked,
        };
        return new IdentifyResult(cluster, outcome, identified.CreatedContactId, (IReadOnlyList<long>?)merged ?? [], setAside);
    }

    /// <summary>The outcome of one identify call, before it is described.</summary>
    private readonly record struct Identified(ContactCluster Cluster, GuardedPlan Applied, SetAsideIdentifier? Blocked)
    {
        /// <summary>The applied change set; empty when the store never called the plan.</summary>
        public ContactChangeSet Changes => Applied.Changes ?? ContactChangeSet.Empty;

        /// <summary>
        /// The inserted contact: the new primary, or the last secondary (a store gives an insert a higher identifier than
        /// every existing contact).
        /// </summary>
        public long? CreatedContactId => Changes.Insert?.LinkPrecedence switch
        {
            LinkPrecedence.Primary => Cluster.PrimaryContactId,
            LinkPrecedence.Secondary when Cluster.SecondaryContactIds.Count > 0 => Cluster.SecondaryContactIds[^1],
            _ => null,
        };
    }
}
