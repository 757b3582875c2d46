using System.Net;
using System.Net.Http.Headers;
using System.Text;
using IdentityReconciliation.Samples.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace IdentityReconciliation.Samples.Tests;

/// <summary>
/// The web API sample's <c>ChangeFeedRelay</c>: registered only with <c>ChangeFeedRelay:Enabled</c>, it POSTs the
/// feed to a real receiver on 127.0.0.1 and moves its checkpoint on only after a 2xx.
/// </summary>
public sealed class ChangeFeedRelayTests : IAsyncLifetime
{
    private readonly TempDatabase _database = new();
    private FeedReceiverStandIn _receiver = null!;

    private string CheckpointFile => Path.Combine(_database.Folder, "relay.checkpoint");

    public async Task InitializeAsync() => _receiver = await FeedReceiverStandIn.StartAsync();

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        _database.Dispose();
    }

    private SampleApiFactory Factory(bool enabled = true, Uri? endpoint = null) => new(_database, new Dictionary<string, string?>
    {
        ["ChangeFeedRelay:Enabled"] = enabled ? "true" : "false",
        ["ChangeFeedRelay:Endpoint"] = (endpoint ?? _receiver.Endpoint).ToString(),
        ["ChangeFeedRelay:CheckpointFile"] = CheckpointFile,
        ["ChangeFeedRelay:PollInterval"] = "00:00:00.050",
    });

    private static async Task IdentifyAsync(HttpClient client, string email)
    {
        using var content = new StringContent($$"""{"email":"{{email}}","phoneNumber":"123456"}""", Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync(new Uri("/identify", UriKind.Relative), content);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private static long Checkpoint(string file) => long.Parse(File.ReadAllText(file), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Waits until the relay has written <paramref name="sequence"/> to its checkpoint. The receiver records an entry
    /// before its 2xx reaches the relay, and the relay writes the checkpoint only after that, so "applied" does not
    /// yet mean "checkpointed": stopping the host in between is the at-least-once case (the batch is sent again).
    /// </summary>
    private Task WaitForCheckpointAsync(long sequence, string because) =>
        _receiver.WaitUntilAsync(_ => File.Exists(CheckpointFile) && Checkpoint(CheckpointFile) == sequence, because);

    [Fact]
    public async Task Relay_Enabled_DeliversEveryEntryAndResumesFromItsCheckpointAfterARestart()
    {
        await using (var factory = Factory())
        {
            using var client = factory.CreateClient();
            await IdentifyAsync(client, "lorraine@hillvalley.edu");
            await IdentifyAsync(client, "mcfly@hillvalley.edu");
            await _receiver.WaitUntilAsync(r => r.Applied.Count == 2, "both entries are relayed");
            await WaitForCheckpointAsync(_receiver.Applied[^1], "the relay checkpoints the acknowledged batch");
        }

        var firstRun = _receiver.Applied;
        Checkpoint(CheckpointFile).Should().Be(firstRun[^1]);

        await using (var factory = Factory())
        {
            using var client = factory.CreateClient();
            await IdentifyAsync(client, "doc@hillvalley.edu");
            await _receiver.WaitUntilAsync(r => r.Applied.Count == 3, "the new entry is relayed after the restart");
            await WaitForCheckpointAsync(_receiver.Applied[^1], "the relay checkpoints the entry sent after the restart");
        }

        _receiver.Batches.SelectMany(b => b).Should().Equal(_receiver.Applied, "nothing before the checkpoint is sent again");
        _receiver.Applied.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        Checkpoint(CheckpointFile).Should().Be(_receiver.Applied[^1]);
    }

    [Fact]
    public async Task Relay_ReceiverFails_ResendsTheSameBatchAndKeepsTheCheckpointUntilA2xx()
    {
        _receiver.StatusCode = StatusCodes.Status500InternalServerError;
        await using var factory = Factory();
        using var client = factory.CreateClient();
        await IdentifyAsync(client, "lorraine@hillvalley.edu");

        await _receiver.WaitUntilAsync(r => r.Batches.Count >= 2, "a failed batch is sent again");
        File.Exists(CheckpointFile).Should().BeFalse("no batch was acknowledged");
        _receiver.StatusCode = StatusCodes.Status200OK;
        await _receiver.WaitUntilAsync(r => r.Applied.Count == 1, "the batch is delivered once the receiver answers 2xx");

        _receiver.Batches.Should().AllSatisfy(b => b.Should().Equal(_receiver.Applied));
        await _receiver.WaitUntilAsync(_ => File.Exists(CheckpointFile), "the checkpoint is written after the 2xx");
        Checkpoint(CheckpointFile).Should().Be(_receiver.Applied[0]);
    }

    [Fact]
    public async Task Relay_NotEnabled_SendsNothing()
    {
        await using var factory = Factory(enabled: false);
        using var client = factory.CreateClient();
        await IdentifyAsync(client, "lorraine@hillvalley.edu");

        await Task.Delay(300);

        _receiver.Batches.Should().BeEmpty();
        File.Exists(CheckpointFile).Should().BeFalse();
    }

    [Fact]
    public async Task Relay_EnabledWithARelativeEndpoint_FailsAtStartNamingTheSetting()
    {
        await using var factory = Factory(endpoint: new Uri("/feed", UriKind.Relative));

        var act = () => factory.CreateClient();

        act.Should().Throw<Exception>().Where(e => e.ToString().Contains("ChangeFeedRelay:Endpoint"));
    }
}
