using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using IdentityReconciliation.Samples.Tests.Support;

namespace IdentityReconciliation.Samples.Tests;

/// <summary><c>GET /changes</c>, <c>GET /contacts/{id}/history</c> and <c>GET /contacts/{id}/explain/{otherId}</c> of the web API sample.</summary>
public sealed class ChangeFeedApiTests : IAsyncLifetime
{
    private const string Key = "change-feed-test-key-0123456789";

    private readonly TempDatabase _database = new();
    private readonly SampleApiFactory _factory;

    public ChangeFeedApiTests()
    {
        _factory = new SampleApiFactory(_database);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        _database.Dispose();
    }

    /// <summary>The worked example's requests: 1 lorraine, 2 mcfly (secondary of 1), 3 george, 4 biffsucks, then 4 merged into 3.</summary>
    private static async Task WorkedExampleAsync(HttpClient client)
    {
        foreach (var body in new[]
        {
            """{"email":"lorraine@hillvalley.edu","phoneNumber":"123456"}""",
            """{"email":"mcfly@hillvalley.edu","phoneNumber":"123456"}""",
            """{"email":"george@hillvalley.edu","phoneNumber":"919191"}""",
            """{"email":"biffsucks@hillvalley.edu","phoneNumber":"717171"}""",
            """{"email":"george@hillvalley.edu","phoneNumber":"717171"}""",
        })
        {
            using var content = new StringContent(body, Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await client.PostAsync(new Uri("/identify", UriKind.Relative), content);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }
    }

    private static async Task<(HttpStatusCode Status, string? MediaType, JsonElement Body)> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static List<(string Kind, long ContactId, long? PrimaryContactId)> Entries(JsonElement changes) =>
        [.. ConsoleChangeFeedTests.Entries(changes.EnumerateArray().Select(e => e.GetRawText())).Select(e => (e.Kind, e.ContactId, e.PrimaryContactId))];

    [Fact]
    public async Task Changes_Defaults_ReturnsEveryEntryAndTheLastSequence()
    {
        using var client = _factory.CreateClient();
        await WorkedExampleAsync(client);

        var (status, mediaType, body) = await GetAsync(client, "/changes");

        status.Should().Be(HttpStatusCode.OK);
        mediaType.Should().Be("application/json");
        var changes = body.GetProperty("changes");
        Entries(changes).Should().Equal(
            ("PrimaryCreated", 1L, (long?)1L),
            ("SecondaryCreated", 2L, (long?)1L),
            ("PrimaryCreated", 3L, (long?)3L),
            ("PrimaryCreated", 4L, (long?)4L),
            ("PersonsMerged", 4L, (long?)3L));
        body.GetProperty("lastSequence").GetInt64().Should().Be(changes[4].GetProperty("sequence").GetInt64());
        body.ToString().Should().NotContain("@").And.NotContain("123456");
    }

    [Fact]
    public async Task Changes_AfterAndMax_PagesThroughTheFeed()
    {
        using var client = _factory.CreateClient();
        await WorkedExampleAsync(client);

        var pages = new List<JsonElement>();
        var after = 0L;
        while (true)
        {
            var (status, _, body) = await GetAsync(client, $"/changes?after={after}&max=2");
            status.Should().Be(HttpStatusCode.OK);
            var page = body.GetProperty("changes").EnumerateArray().ToList();
            page.Count.Should().BeLessThanOrEqualTo(2);
            if (page.Count == 0)
            {
                body.GetProperty("lastSequence").GetInt64().Should().Be(after, "with nothing new, lastSequence is the after given");
                break;
            }

            pages.AddRange(page);
            after = body.GetProperty("lastSequence").GetInt64();
        }

        var (_, _, all) = await GetAsync(client, "/changes?max=1000");
        pages.Select(p => p.GetRawText()).Should().Equal(all.GetProperty("changes").EnumerateArray().Select(p => p.GetRawText()));
    }

    [Theory]
    [InlineData("after=-1", "after")]
    [InlineData("after=abc", "after")]
    [InlineData("after=1&after=2", "after")]
    [InlineData("after=", "after")]
    [InlineData("max=0", "max")]
    [InlineData("max=1001", "max")]
    [InlineData("max=ten", "max")]
    [InlineData("after=0&max=99999999999", "max")]
    public async Task Changes_BadParameter_Returns400ProblemNamingIt(string query, string parameter)
    {
        using var client = _factory.CreateClient();
        await WorkedExampleAsync(client);
        var before = SqliteRows.ReadAll(_database);

        var (status, mediaType, body) = await GetAsync(client, "/changes?" + query);

        status.Should().Be(HttpStatusCode.BadRequest);
        mediaType.Should().Be("application/problem+json");
        body.GetProperty("errors").EnumerateObject().Select(p => p.Name).Should().Equal(parameter);
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Theory]
    [InlineData("/changes")]
    [InlineData("/contacts/1/history")]
    [InlineData("/contacts/1/explain/2")]
    public async Task ReadEndpoint_ApiKeysConfigured_NeedsTheKey(string path)
    {
        await using var factory = new SampleApiFactory(_database, new Dictionary<string, string?> { ["Authentication:ApiKeys:0"] = Key });
        using var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", Key);
        await WorkedExampleAsync(client);
        using var anonymous = factory.CreateClient();

        var (withoutKey, _, _) = await GetAsync(anonymous, path);
        var (withKey, _, _) = await GetAsync(client, path);

        withoutKey.Should().Be(HttpStatusCode.Unauthorized);
        withKey.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task History_SecondaryOfAMergedPerson_ReturnsThePersonsEntriesOldestFirst()
    {
        using var client = _factory.CreateClient();
        await WorkedExampleAsync(client);

        var (status, _, body) = await GetAsync(client, "/contacts/4/history");

        status.Should().Be(HttpStatusCode.OK);
        Entries(body.GetProperty("changes")).Should().Equal(
            ("PrimaryCreated", 3L, (long?)3L),
            ("PrimaryCreated", 4L, (long?)4L),
            ("PersonsMerged", 4L, (long?)3L));
    }

    [Fact]
    public async Task History_UnknownContact_Returns404Problem()
    {
        using var client = _factory.CreateClient();
        await WorkedExampleAsync(client);

        var (status, mediaType, _) = await GetAsync(client, "/contacts/99/history");

        status.Should().Be(HttpStatusCode.NotFound);
        mediaType.Should().Be("application/problem+json");
    }

    [Fact]
    public async Task Explain_MergedByARequest_ReturnsTheMergeLinkWithItsValues()
    {
        using var client = _factory.CreateClient();
        await WorkedExampleAsync(client);

        using var response = await client.GetAsync(new Uri("/contacts/3/explain/4", UriKind.Relative));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Be(
            """{"primaryContactId":3,"steps":[{"from":3,"to":4,"join":"MergeLink","email":"george@hillvalley.edu","phoneNumber":"717171"}]}""");
    }

    [Fact]
    public async Task Explain_TwoPersons_Returns404Problem()
    {
        using var client = _factory.CreateClient();
        await WorkedExampleAsync(client);

        var (status, mediaType, _) = await GetAsync(client, "/contacts/1/explain/3");

        status.Should().Be(HttpStatusCode.NotFound);
        mediaType.Should().Be("application/problem+json");
    }
}
