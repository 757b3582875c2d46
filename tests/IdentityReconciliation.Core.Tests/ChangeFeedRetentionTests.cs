using IdentityReconciliation.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Tests;

/// <summary>The change-feed retention settings and the pruning service that <c>AddIdentityReconciliation</c> registers.</summary>
public sealed class ChangeFeedRetentionTests
{
    private static async Task<InMemoryContactStore> StoreWithEntries(ManualTimeProvider clock, int count)
    {
        var store = new InMemoryContactStore();
        var reconciler = new IdentityReconciler(store, DefaultContactNormalizer.Instance, clock, null);
        for (var i = 0; i < count; i++)
        {
            await reconciler.IdentifyAsync(new IdentifyRequest($"p{i}@x.io", null));
            clock.Advance(TimeSpan.FromHours(1));
        }

        return store;
    }

    [Fact]
    public async Task Host_MaxCountConfigured_PrunesAtStartAndKeepsTheNewest()
    {
        var clock = new ManualTimeProvider();
        var store = await StoreWithEntries(clock, 10);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddIdentityReconciliation(o => o.ChangeFeedMaxCount = 3).UseContactStore(_ => store);
        using var host = builder.Build();

        await host.StartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await store.GetChangesAsync(0, 100)).Count > 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await host.StopAsync();
        (await store.GetChangesAsync(0, 100)).Select(e => e.ContactId).Should().Equal(8, 9, 10);
    }

    [Fact]
    public async Task PruneOnceAsync_MaxAge_DeletesOlderEntries()
    {
        var clock = new ManualTimeProvider();
        var store = await StoreWithEntries(clock, 5); // entries at 0h..4h; now is 5h
        var service = new ChangeFeedPruningService(() => store, Options.Create(new IdentityReconciliationOptions { ChangeFeedMaxAge = TimeSpan.FromHours(2.5) }), clock);

        (await service.PruneOnceAsync(CancellationToken.None)).Should().Be(3);
        (await store.GetChangesAsync(0, 100)).Select(e => e.ContactId).Should().Equal(4, 5);
    }

    [Fact]
    public async Task PruneOnceAsync_RetentionOff_NeverTouchesTheStore()
    {
        var resolved = false;
        var service = new ChangeFeedPruningService(
            () =>
            {
                resolved = true;
                return new InMemoryContactStore();
            },
            Options.Create(new IdentityReconciliationOptions()),
            TimeProvider.System);

        (await service.PruneOnceAsync(CancellationToken.None)).Should().Be(0);
        await service.StartAsync(CancellationToken.None);
        await service.StopAsync(CancellationToken.None);
        resolved.Should().BeFalse("the default keeps every entry, and a host that never prunes never opens the store for it");
    }

    [Theory]
    [InlineData("ChangeFeedMaxAge")]
    [InlineData("ChangeFeedMaxCount")]
    [InlineData("ChangeFeedPruneInterval")]
    public void Options_OutOfRange_FailAtStartNamingTheSetting(string setting)
    {
        var services = new ServiceCollection();
        services.AddIdentityReconciliation(o =>
        {
            switch (setting)
            {
                case "ChangeFeedMaxAge":
                    o.ChangeFeedMaxAge = TimeSpan.Zero;
                    break;
                case "ChangeFeedMaxCount":
                    o.ChangeFeedMaxCount = 0;
                    break;
                default:
                    o.ChangeFeedPruneInterval = TimeSpan.FromMilliseconds(10);
                    break;
            }
        }).UseContactStore<InMemoryContactStore>();
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<IdentityReconciliationOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().WithMessage($"*{setting}*");
    }

    [Theory]
    [InlineData(-1, 10, "afterSequence")]
    [InlineData(0, 0, "maxCount")]
    [InlineData(0, IdentityReconciler.MaxChangesPerRead + 1, "maxCount")]
    public async Task GetChangesAsync_OutOfRange_ThrowsNamingTheArgumentAndReadsNothing(long after, int max, string parameter)
    {
        var store = await StoreWithEntries(new ManualTimeProvider(), 2);
        var reconciler = new IdentityReconciler(store);

        var act = () => reconciler.GetChangesAsync(after, max);

        (await act.Should().ThrowAsync<ArgumentOutOfRangeException>()).Which.ParamName.Should().Be(parameter);
        (await reconciler.GetChangesAsync(0, IdentityReconciler.MaxChangesPerRead)).Should().HaveCount(2);
    }
}
