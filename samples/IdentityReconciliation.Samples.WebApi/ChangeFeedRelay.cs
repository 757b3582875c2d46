using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using IdentityReconciliation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Samples.WebApi;

/// <summary>The <c>ChangeFeedRelay</c> settings. The relay runs only when <see cref="Enabled"/> is <see langword="true"/>.</summary>
internal sealed class ChangeFeedRelayOptions
{
    public const string Section = "ChangeFeedRelay";

    public bool Enabled { get; set; }

    /// <summary>Where each batch is POSTed as <c>{"changes":[…],"lastSequence":N}</c>. Required when enabled.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The file that holds the last sequence the receiver acknowledged; relative to the working directory.</summary>
    public string CheckpointFile { get; set; } = "change-feed-relay.checkpoint";

    /// <summary>How long to wait when there is nothing new, or after a failed delivery.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most entries per POST, from 1 to 10,000.</summary>
    public int BatchSize { get; set; } = 100;
}

/// <summary>
/// Relays the change feed to another system, every entry exactly once in effect: the feed is read from the last sequence
/// the receiver acknowledged, each batch is POSTed, and only after a 2xx is the checkpoint moved on. A crash between the
/// POST and the checkpoint re-sends that batch after the restart (at-least-once delivery); the receiver applies an entry
/// only when its sequence is above the highest it has applied, and records that highest sequence in the same transaction
/// as its own side effects (an idempotent receiver keyed by sequence), so a re-sent entry changes nothing.
/// </summary>
/// <remarks>
/// Run one relay per receiver: two instances sharing a checkpoint would both send (still harmless to an idempotent
/// receiver, but twice the traffic). Entries carry contact ids only, never an email or a phone number.
/// </remarks>
internal sealed class ChangeFeedRelay(
    IIdentityReconciler reconciler,
    IHttpClientFactory httpClientFactory,
    IOptions<ChangeFeedRelayOptions> options,
    TimeProvider timeProvider,
    ILogger<ChangeFeedRelay> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var after = await ReadCheckpointAsync(settings.CheckpointFile, stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            var fullBatch = false;
            try
            {
                var changes = await reconciler.GetChangesAsync(after, settings.BatchSize, stoppingToken);
                if (changes.Count > 0)
                {
                    var last = changes[^1].Sequence;
                    using var http = httpClientFactory.CreateClient(nameof(ChangeFeedRelay));
                    using var response = await http.PostAsJsonAsync(
                        settings.Endpoint,
                        new ChangesResponse([.. changes.Select(ChangeView.Of)], last),
                        WebApiJsonContext.Default.ChangesResponse,
                        stoppingToken);
                    response.EnsureSuccessStatusCode();

                    // Acknowledged: only now move the checkpoint on. A crash before this line re-sends the batch.
                    await WriteCheckpointAsync(settings.CheckpointFile, last, stoppingToken);
                    after = last;
                    fullBatch = changes.Count == settings.BatchSize;
                    Log.Relayed(logger, changes.Count, last);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or ContactStoreBusyException or IOException or OperationCanceledException
                && !stoppingToken.IsCancellationRequested)
            {
                // The same batch is read and sent again after the interval: nothing is skipped.
                Log.RelayFailed(logger, ex.GetType().Name, after);
            }

            if (!fullBatch)
            {
                await Task.Delay(settings.PollInterval, timeProvider, stoppingToken);
            }
        }
    }

    /// <summary>The last acknowledged sequence, or 0 before the first delivery.</summary>
    internal static async Task<long> ReadCheckpointAsync(string file, CancellationToken cancellationToken) =>
        File.Exists(file) ? long.Parse((await File.ReadAllTextAsync(file, cancellationToken)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture) : 0;

    /// <summary>Writes the checkpoint atomically: a new file, flushed to disk, then renamed over the old one.</summary>
    private static async Task WriteCheckpointAsync(string file, long sequence, CancellationToken cancellationToken)
    {
        var temporary = file + ".tmp";
        await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 64, FileOptions.WriteThrough))
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(sequence.ToString(CultureInfo.InvariantCulture)), cancellationToken);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, file, overwrite: true);
    }
}

internal static class ChangeFeedRelayExtensions
{
    /// <summary>Registers the relay when <c>ChangeFeedRelay:Enabled</c> is <see langword="true"/>; validates its settings at start-up.</summary>
    public static IServiceCollection AddChangeFeedRelayIfEnabled(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(ChangeFeedRelayOptions.Section);
        if (!section.GetValue<bool>(nameof(ChangeFeedRelayOptions.Enabled)))
        {
            return services;
        }

        services.AddOptions<ChangeFeedRelayOptions>()
            .Bind(section)
            .Validate(o => o.Endpoint is { IsAbsoluteUri: true }, "ChangeFeedRelay:Endpoint must be an absolute URL when ChangeFeedRelay:Enabled is true.")
            .Validate(o => o.BatchSize is >= 1 and <= 10_000, "ChangeFeedRelay:BatchSize must be between 1 and 10000.")
            .Validate(o => o.PollInterval > TimeSpan.Zero, "ChangeFeedRelay:PollInterval must be positive.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(nameof(ChangeFeedRelay));
        services.AddHostedService<ChangeFeedRelay>();
        return services;
    }
}
