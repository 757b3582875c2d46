using IdentityReconciliation.Tests.Support;

namespace IdentityReconciliation.Tests;

/// <summary>
/// The default implementation of <see cref="IIdentityReconciler.IdentifyManyAsync(IAsyncEnumerable{IdentifyRequest}, CancellationToken)"/>,
/// which a reconciler other than <see cref="IdentityReconciler"/> inherits: one <see cref="IIdentityReconciler.IdentifyDetailedAsync"/>
/// per request, bad rows in place.
/// </summary>
public sealed class IdentifyManyDefaultImplementationTests
{
    [Fact]
    public async Task IdentifyManyAsync_CustomReconciler_StreamsResultsAndBadRowsInOrder()
    {
        var inner = new IdentityReconciler(new InMemoryContactStore());
        IIdentityReconciler reconciler = new Delegating(inner);
        IdentifyRequest?[] requests = [new("a@x.io", "1"), new("bad", "1"), null, new("b@x.io", "1")];

        var results = new List<IdentifyManyResult>();
        await foreach (var result in reconciler.IdentifyManyAsync(requests!))
        {
            results.Add(result);
        }

        results.Select(r => r.Index).Should().Equal(0, 1, 2, 3);
        results.Select(r => r.Succeeded).Should().Equal(true, false, false, true);
        results[1].Error.Should().BeOfType<InvalidIdentifyRequestException>();
        results[2].Error.Should().BeOfType<ArgumentNullException>();
        results[3].Result!.Outcome.Should().Be(IdentifyOutcome.SecondaryCreated);
        ((Delegating)reconciler).Calls.Should().Be(3, "one IdentifyDetailedAsync per non-null request");
    }

    [Fact]
    public void IdentifyManyAsync_CustomReconcilerNullSequence_Throws()
    {
        IIdentityReconciler reconciler = new Delegating(new IdentityReconciler(new InMemoryContactStore()));

        var act = () => reconciler.IdentifyManyAsync((IEnumerable<IdentifyRequest>)null!);

        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("requests");
    }

    /// <summary>A reconciler of another library: it implements every member but the bulk ones.</summary>
    private sealed class Delegating(IIdentityReconciler inner) : IIdentityReconciler
    {
        public int Calls { get; private set; }

        public Task<ContactCluster> IdentifyAsync(IdentifyRequest request, CancellationToken cancellationToken = default) => inner.IdentifyAsync(request, cancellationToken);

        public Task<IdentifyResult> IdentifyDetailedAsync(IdentifyRequest request, CancellationToken cancellationToken = default)
        {
            Calls++;
            return inner.IdentifyDetailedAsync(request, cancellationToken);
        }

        public Task<ContactCluster?> FindAsync(IdentifyRequest request, CancellationToken cancellationToken = default) => inner.FindAsync(request, cancellationToken);

        public Task<ErasureResult> EraseAsync(IdentifyRequest request, CancellationToken cancellationToken = default) => inner.EraseAsync(request, cancellationToken);

        public Task<ErasureResult> ErasePersonAsync(long contactId, CancellationToken cancellationToken = default) => inner.ErasePersonAsync(contactId, cancellationToken);

        public Task<IReadOnlyList<ContactChange>> GetChangesAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default) => inner.GetChangesAsync(afterSequence, maxCount, cancellationToken);

        public Task<IReadOnlyList<ContactChange>> GetHistoryAsync(long contactId, CancellationToken cancellationToken = default) => inner.GetHistoryAsync(contactId, cancellationToken);

        public Task<ContactExplanation?> ExplainAsync(long contactId, long otherContactId, CancellationToken cancellationToken = default) => inner.ExplainAsync(contactId, otherContactId, cancellationToken);
    }
}

/// <summary><see cref="IdentityReconciliationOptions.IdentifyManyChunkSize"/> is validated like every option.</summary>
public sealed class IdentifyManyChunkSizeTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(IdentityReconciliationOptions.MaxIdentifyManyChunkSize + 1)]
    public void IdentityReconciler_ChunkSizeOutOfRange_ThrowsNamingTheSetting(int chunkSize)
    {
        var act = () => new IdentityReconciler(new InMemoryContactStore(), new IdentityReconciliationOptions { IdentifyManyChunkSize = chunkSize });

        act.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>().WithMessage("*IdentifyManyChunkSize*");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(IdentityReconciliationOptions.MaxIdentifyManyChunkSize)]
    public void IdentityReconciler_ChunkSizeInRange_IsAccepted(int chunkSize)
    {
        var act = () => new IdentityReconciler(new InMemoryContactStore(), new IdentityReconciliationOptions { IdentifyManyChunkSize = chunkSize });

        act.Should().NotThrow();
    }
}

/// <summary>A store whose <see cref="IContactStore.ReconcileManyAsync"/> breaks its contract is reported, never trusted.</summary>
public sealed class IdentifyManyStoreContractViolationTests
{
    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    public async Task IdentifyManyAsync_StoreReturnsWrongNumberOfResults_ThrowsInvalidOperationException(int extra)
    {
        var reconciler = new IdentityReconciler(new MiscountingStore(extra));

        var act = async () =>
        {
            await foreach (var _ in reconciler.IdentifyManyAsync([new IdentifyRequest("a@x.io", "1"), new IdentifyRequest("b@x.io", "2")]))
            {
            }
        };

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("MiscountingStore").And.NotContain("a@x.io");
    }

    /// <summary>Yields one result too few or one too many.</summary>
    private sealed class MiscountingStore(int extra) : IContactStore
    {
        private readonly InMemoryContactStore _inner = new();

        public async IAsyncEnumerable<IReadOnlyList<Contact>> ReconcileManyAsync(
            IReadOnlyList<ContactIdentifiers> identifiers,
            Func<int, IReadOnlyList<Contact>, ContactChangeSet> plan,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var count = 0;
            await foreach (var result in ((IContactStore)_inner).ReconcileManyAsync(identifiers, plan, cancellationToken))
            {
                if (++count > identifiers.Count + extra)
                {
                    yield break;
                }

                yield return result;
            }

            for (var i = 0; i < extra; i++)
            {
                yield return [];
            }
        }

        public Task<IReadOnlyList<Contact>> FindClustersAsync(ContactIdentifiers identifiers, CancellationToken cancellationToken = default) => _inner.FindClustersAsync(identifiers, cancellationToken);

        public Task<IReadOnlyList<Contact>> ReconcileAsync(ContactIdentifiers identifiers, Func<IReadOnlyList<Contact>, ContactChangeSet> plan, CancellationToken cancellationToken = default) => _inner.ReconcileAsync(identifiers, plan, cancellationToken);

        public Task<IReadOnlyList<Contact>> EraseAsync(ContactIdentifiers identifiers, Func<ErasureScope, ErasureChangeSet> plan, CancellationToken cancellationToken = default) => _inner.EraseAsync(identifiers, plan, cancellationToken);

        public Task<IReadOnlyList<Contact>> ErasePersonAsync(long contactId, Func<ErasureScope, ErasureChangeSet> plan, CancellationToken cancellationToken = default) => _inner.ErasePersonAsync(contactId, plan, cancellationToken);

        public Task<IReadOnlyList<ContactChange>> GetChangesAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default) => _inner.GetChangesAsync(afterSequence, maxCount, cancellationToken);

        public Task<IReadOnlyList<ContactChange>> GetHistoryAsync(long contactId, CancellationToken cancellationToken = default) => _inner.GetHistoryAsync(contactId, cancellationToken);

        public Task<PersonGraph?> LoadPersonAsync(long contactId, CancellationToken cancellationToken = default) => _inner.LoadPersonAsync(contactId, cancellationToken);

        public Task<long> PruneChangesAsync(DateTimeOffset? olderThan, long? keepNewest, CancellationToken cancellationToken = default) => _inner.PruneChangesAsync(olderThan, keepNewest, cancellationToken);
    }
}
