using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using IdentityReconciliation.Samples.Tests.Support;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace IdentityReconciliation.Samples.Tests;

/// <summary><c>POST /erase</c> of the web API sample: mapped only when <c>Erasure:Enabled</c> is on.</summary>
public sealed class EraseApiTests : IAsyncLifetime
{
    private readonly TempDatabase _database = new();
    private readonly SampleApiFactory _factory;

    public EraseApiTests()
    {
        _factory = new SampleApiFactory(_database);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        _database.Dispose();
    }

    private HttpClient Client(bool enabled) =>
        enabled ? _factory.WithWebHostBuilder(b => b.UseSetting("Erasure:Enabled", "true")).CreateClient() : _factory.CreateClient();

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await client.PostAsync(new Uri(path, UriKind.Relative), content);
    }

    [Fact]
    public async Task Erase_NotEnabled_IsNotMapped()
    {
        using var client = Client(enabled: false);

        using var response = await PostAsync(client, "/erase", """{"email":"george@hillvalley.edu"}""");

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Erase_Enabled_ErasesAndReturnsTheResult()
    {
        using var client = Client(enabled: true);
        foreach (var body in new[]
        {
            """{"email":"george@hillvalley.edu","phoneNumber":"919191"}""",
            """{"email":"biffsucks@hillvalley.edu","phoneNumber":717171}""",
            """{"email":"george@hillvalley.edu","phoneNumber":"717171"}""",
        })
        {
            using var identify = await PostAsync(client, "/identify", body);
            identify.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using var response = await PostAsync(client, "/erase", """{"email":null,"phoneNumber":919191}""");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        (await response.Content.ReadAsStringAsync()).Should().Be(
            """{"erasedContactIds":[],"changedContactIds":[1],"persons":[{"primaryContactId":1,"emails":["george@hillvalley.edu","biffsucks@hillvalley.edu"],"phoneNumbers":["717171"],"secondaryContactIds":[2]}]}""");
        SqliteRows.ReadAll(_database).Should().NotContain(r => r.PhoneNumber == "919191");
    }

    [Theory]
    [InlineData("text/plain")] // what a cross-site form or fetch may send without a CORS preflight
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData(null)]
    public async Task Erase_ContentTypeNotJson_Returns415ProblemAndErasesNothing(string? contentType)
    {
        using var client = Client(enabled: true);
        using (var identify = await PostAsync(client, "/identify", """{"email":"george@hillvalley.edu","phoneNumber":"919191"}"""))
        {
            identify.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var before = SqliteRows.ReadAll(_database);
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"email":"george@hillvalley.edu"}"""));
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType).Should().BeTrue();
        }

        using var response = await client.PostAsync(new Uri("/erase", UriKind.Relative), content);

        response.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Theory]
    [InlineData("""{"email":"george.hillvalley.edu"}""", "email")]
    [InlineData("""{"phoneNumber":"12ab"}""", "phoneNumber")]
    [InlineData("""{"phoneNumber":true}""", "phoneNumber")]
    [InlineData("""{}""", "request")]
    [InlineData("""not json""", "request")]
    public async Task Erase_BadInput_Returns400ProblemNamingTheFieldAndErasesNothing(string body, string field)
    {
        using var client = Client(enabled: true);
        using (var seed = await PostAsync(client, "/identify", """{"email":"george@hillvalley.edu","phoneNumber":"919191"}"""))
        {
            seed.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var before = SqliteRows.ReadAll(_database);

        using var response = await PostAsync(client, "/erase", body);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Should().Equal(field);
        problem.ToString().Should().NotContain("george");
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }
}
