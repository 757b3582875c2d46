using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace IdentityReconciliation.Samples.Tests.Support;

/// <summary>
/// A real Kestrel server on 127.0.0.1 playing the system the change-feed relay delivers to (<c>POST /feed</c>): it records
/// the sequences of every batch it is sent and answers <see cref="StatusCode"/>. While it answers 2xx it applies an entry
/// only when its sequence is above the highest it has applied, as an idempotent receiver does.
/// </summary>
public sealed class FeedReceiverStandIn : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<long[]> _batches = new();
    private readonly List<long> _applied = [];

    private FeedReceiverStandIn(WebApplication app) => _app = app;

    public Uri Endpoint { get; private set; } = null!;

    public int StatusCode { get; set; } = StatusCodes.Status200OK;

    /// <summary>The sequences of every batch received, answered 2xx or not.</summary>
    public IReadOnlyList<long[]> Batches => [.. _batches];

    /// <summary>The sequences applied, once each.</summary>
    public IReadOnlyList<long> Applied
    {
        get
        {
            lock (_applied)
            {
                return [.. _applied];
            }
        }
    }

    public static async Task<FeedReceiverStandIn> StartAsync()
    {
        var app = LoopbackServer.Create();
        var standIn = new FeedReceiverStandIn(app);
        app.MapPost("/feed", standIn.ReceiveAsync);
        standIn.Endpoint = new Uri(await LoopbackServer.StartAsync(app), "/feed");
        return standIn;
    }

    public async Task WaitUntilAsync(Func<FeedReceiverStandIn, bool> condition, string because)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition(this))
        {
            DateTime.UtcNow.Should().BeBefore(deadline, because);
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        using var body = await JsonDocument.ParseAsync(context.Request.Body);
        long[] sequences = [.. body.RootElement.GetProperty("changes").EnumerateArray().Select(c => c.GetProperty("sequence").GetInt64())];
        body.RootElement.GetProperty("lastSequence").GetInt64().Should().Be(sequences[^1]);
        _batches.Enqueue(sequences);
        var status = StatusCode;
        if (status < 300)
        {
            lock (_applied)
            {
                foreach (var sequence in sequences)
                {
                    if (_applied.Count == 0 || sequence > _applied[^1])
                    {
                        _applied.Add(sequence);
                    }
                }
            }
        }

        context.Response.StatusCode = status;
    }
}
