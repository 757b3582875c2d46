using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using IdentityReconciliation.Samples.Tests.Support;

namespace IdentityReconciliation.Samples.Tests;

/// <summary>The web API sample through <c>WebApplicationFactory</c>, each test on its own SQLite file.</summary>
public sealed class IdentifyApiTests : IAsyncLifetime
{
    private readonly TempDatabase _database = new();
    private readonly SampleApiFactory _factory;
    private readonly HttpClient _client;

    public IdentifyApiTests()
    {
        _factory = new SampleApiFactory(_database);
        _client = _factory.CreateClient();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _factory.DisposeAsync();
        _database.Dispose();
    }

    [Fact]
    public async Task Identify_WorkedExample_ReturnsTheProductResponses()
    {
        (string Body, string Expected)[] steps =
        [
            ("""{"email":"lorraine@hillvalley.edu","phoneNumber":"123456"}""",
             """{"contact":{"primaryContactId":1,"emails":["lorraine@hillvalley.edu"],"phoneNumbers":["123456"],"secondaryContactIds":[]}}"""),
            ("""{"email":"mcfly@hillvalley.edu","phoneNumber":"123456"}""",
             """{"contact":{"primaryContactId":1,"emails":["lorraine@hillvalley.edu","mcfly@hillvalley.edu"],"phoneNumbers":["123456"],"secondaryContactIds":[2]}}"""),
            ("""{"email":null,"phoneNumber":"123456"}""",
             """{"contact":{"primaryContactId":1,"emails":["lorraine@hillvalley.edu","mcfly@hillvalley.edu"],"phoneNumbers":["123456"],"secondaryContactIds":[2]}}"""),
            ("""{"email":"lorraine@hillvalley.edu","phoneNumber":null}""",
             """{"contact":{"primaryContactId":1,"emails":["lorraine@hillvalley.edu","mcfly@hillvalley.edu"],"phoneNumbers":["123456"],"secondaryContactIds":[2]}}"""),
            ("""{"email":"mcfly@hillvalley.edu","phoneNumber":null}""",
             """{"contact":{"primaryContactId":1,"emails":["lorraine@hillvalley.edu","mcfly@hillvalley.edu"],"phoneNumbers":["123456"],"secondaryContactIds":[2]}}"""),
            ("""{"email":"george@hillvalley.edu","phoneNumber":"919191"}""",
             """{"contact":{"primaryContactId":3,"emails":["george@hillvalley.edu"],"phoneNumbers":["919191"],"secondaryContactIds":[]}}"""),
            ("""{"email":"biffsucks@hillvalley.edu","phoneNumber":"717171"}""",
             """{"contact":{"primaryContactId":4,"emails":["biffsucks@hillvalley.edu"],"phoneNumbers":["717171"],"secondaryContactIds":[]}}"""),
            ("""{"email":"george@hillvalley.edu","phoneNumber":"717171"}""",
             """{"contact":{"primaryContactId":3,"emails":["george@hillvalley.edu","biffsucks@hillvalley.edu"],"phoneNumbers":["919191","717171"],"secondaryContactIds":[4]}}"""),
        ];

        foreach (var (body, expected) in steps)
        {
            using var response = await PostAsync(body);

            response.StatusCode.Should().Be(HttpStatusCode.OK, body);
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
            (await response.Content.ReadAsStringAsync()).Should().Be(expected, body);
        }

        SqliteRows.ReadAll(_database).Should().HaveCount(4, "the last request merges two persons without a new row");
    }

    [Fact]
    public async Task Identify_WorkedExample_SendsNoSetAsideHeader()
    {
        using var response = await PostAsync("""{"email":"lorraine@hillvalley.edu","phoneNumber":"123456"}""");

        response.Headers.Contains("Identify-Set-Aside").Should().BeFalse();
    }

    [Fact]
    public async Task Identify_BlockedPhone_AnswersWithTheSameBodyShapeAndNamesItInTheHeader()
    {
        using var response = await PostAsync("""{"email":"doc@hillvalley.edu","phoneNumber":"000-000-0000"}""");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("Identify-Set-Aside").Should().Equal("phoneNumber;reason=blocked");
        (await response.Content.ReadAsStringAsync()).Should().Be(
            """{"contact":{"primaryContactId":1,"emails":["doc@hillvalley.edu"],"phoneNumbers":[],"secondaryContactIds":[]}}""");
        SqliteRows.ReadAll(_database).Should().ContainSingle().Which.PhoneNumber.Should().BeNull();
    }

    [Fact]
    public async Task Identify_HubPhoneOverTheLimit_NamesTheLimitInTheHeader()
    {
        for (var i = 0; i < IdentityReconciliationOptions.DefaultMaxEmailsPerPerson; i++)
        {
            using var filling = await PostAsync($$"""{"email":"buyer{{i}}@hillvalley.edu","phoneNumber":"5550100"}""");
            filling.Headers.Contains("Identify-Set-Aside").Should().BeFalse();
        }

        using var response = await PostAsync("""{"email":"one-too-many@hillvalley.edu","phoneNumber":"5550100"}""");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("Identify-Set-Aside").Should().Equal("phoneNumber;reason=email-limit");
        var contact = (await ReadJsonAsync(response)).GetProperty("contact");
        contact.GetProperty("emails").EnumerateArray().Select(e => e.GetString()).Should().Equal("one-too-many@hillvalley.edu");
        contact.GetProperty("phoneNumbers").GetArrayLength().Should().Be(0);
    }

    [Theory]
    [InlineData("""{"email":"test@test.com","phoneNumber":null}""", "email")]
    [InlineData("""{"email":null,"phoneNumber":"0000000000"}""", "phoneNumber")]
    [InlineData("""{"phoneNumber":1111111}""", "phoneNumber")]
    [InlineData("""{"email":"noemail@noemail.com","phoneNumber":"1234567890"}""", "request")]
    public async Task Identify_OnlyPlaceholderValues_Returns400ProblemNamingTheFieldAndWritesNothing(string body, string field)
    {
        using var response = await PostAsync(body);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = await ReadJsonAsync(response);
        problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Should().Equal(field);
        var message = problem.GetProperty("errors").GetProperty(field)[0].GetString();
        message.Should().Contain("placeholder").And.NotContain("test@").And.NotContain("000").And.NotContain("111");
        problem.GetProperty("reason").GetString().Should().Be("blocked");
        SqliteRows.ReadAll(_database).Should().BeEmpty();
    }

    [Theory]
    [InlineData("""{"email":"a@b@c"}""", "malformed-email")]
    [InlineData("""{"email":"x@y.z","phoneNumber":"123-abc"}""", "malformed-phone-number")]
    [InlineData("""{"email":"lorraine\u200B@hillvalley.edu"}""", "invisible-character")]
    [InlineData("""{"email":"lorraine@hillvalley.edu\r\nbcc@x.io"}""", "invisible-character")]
    [InlineData("""{"email":"   ","phoneNumber":""}""", "missing-identifier")]
    public async Task Identify_RejectedByTheLibrary_TheProblemSaysWhyForPrograms(string body, string reason)
    {
        using var response = await PostAsync(body);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ReadJsonAsync(response)).GetProperty("reason").GetString().Should().Be(reason);
    }

    [Fact]
    public async Task Identify_BodyThatIsNotJson_TheProblemHasNoReason()
    {
        using var response = await PostAsync("not json");

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ReadJsonAsync(response)).TryGetProperty("reason", out _).Should().BeFalse("the library never saw the request");
    }

    [Fact]
    public async Task Identify_PhoneNumberAsJsonNumber_IsTheSameAsTheString()
    {
        using var first = await PostAsync("""{"email":"doc@hillvalley.edu","phoneNumber":88121955}""");
        using var second = await PostAsync("""{"phoneNumber":"88121955"}""");

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        (await first.Content.ReadAsStringAsync()).Should().Be(
            """{"contact":{"primaryContactId":1,"emails":["doc@hillvalley.edu"],"phoneNumbers":["88121955"],"secondaryContactIds":[]}}""");
        (await second.Content.ReadAsStringAsync()).Should().Be(await first.Content.ReadAsStringAsync());
        SqliteRows.ReadAll(_database).Should().ContainSingle().Which.PhoneNumber.Should().Be("88121955");
    }

    [Fact]
    public async Task Identify_LongNumericPhoneNumber_KeepsEveryDigit()
    {
        using var response = await PostAsync("""{"phoneNumber":12345678901234567890123}""");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await ReadJsonAsync(response)).GetProperty("contact").GetProperty("phoneNumbers")[0].GetString().Should().Be("12345678901234567890123");
    }

    [Fact]
    public async Task Identify_PlusInPhoneNumber_IsWrittenUnescaped()
    {
        using var response = await PostAsync("""{"phoneNumber":"+1 (555) 010-1985"}""");

        (await response.Content.ReadAsStringAsync()).Should().Contain("\"+15550101985\"");
    }

    public static TheoryData<string, string> InvalidBodies() => new()
    {
        { """{"email":"lorraine.hillvalley.edu","phoneNumber":null}""", "email" },
        { """{"email":"a@b@c"}""", "email" },
        { """{"email":42,"phoneNumber":"123456"}""", "email" },
        { """{"email":["x@y.z"]}""", "email" },
        { """{"email":"x@y.z","phoneNumber":"123-abc"}""", "phoneNumber" },
        { """{"phoneNumber":true}""", "phoneNumber" },
        { """{"phoneNumber":1.5}""", "phoneNumber" },
        { """{"phoneNumber":-123456}""", "phoneNumber" },
        { """{"phoneNumber":1e6}""", "phoneNumber" },
        { """{"phoneNumber":{"value":"1"}}""", "phoneNumber" },
        { """{"email":null,"phoneNumber":null}""", "request" },
        { """{}""", "request" },
        { """{"email":"   ","phoneNumber":""}""", "request" },
        { "null", "request" },
        { "[]", "request" },
        { "\"x@y.z\"", "request" },
        { "", "request" },
        { "{\"email\":\"x@y.z\"", "request" },
        { "{\"email\":\"x@y.z\",}", "request" },
        { "not json", "request" },
        { """{"email":"nul\u0000@hillvalley.edu"}""", "email" },
        { """{"email":"lorraine@hillvalley.edu\r\nbcc@x.io"}""", "email" },
        { """{"email":"ude.yellavllih@\u202Elorraine"}""", "email" },
        { """{"email":"lorraine\u200B@hillvalley.edu","phoneNumber":"123456"}""", "email" },
        { """{"email":"a\u2066b@hillvalley.edu","phoneNumber":"123456"}""", "email" },
        { """{"phoneNumber":"12\u000034"}""", "phoneNumber" },
        { """{"phoneNumber":"\uff11\uff12\uff13"}""", "phoneNumber" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Identify_InvalidBody_Returns400ProblemNamingTheFieldAndWritesNothing(string body, string field)
    {
        using (var seed = await PostAsync("""{"email":"lorraine@hillvalley.edu","phoneNumber":"123456"}"""))
        {
            seed.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var before = SqliteRows.ReadAll(_database);

        using var response = await PostAsync(body);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = await ReadJsonAsync(response);
        problem.GetProperty("status").GetInt32().Should().Be(400);
        problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Should().Equal(field);
        problem.GetProperty("errors").GetProperty(field)[0].GetString().Should().NotBeNullOrWhiteSpace();
        SqliteRows.ReadAll(_database).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task Identify_ComposedAndDecomposedEmail_AreOnePerson()
    {
        using var composed = await PostAsync("""{"email":"caf\u00e9@hillvalley.edu","phoneNumber":"1"}""");
        using var decomposed = await PostAsync("""{"email":"CAFE\u0301@hillvalley.edu"}""");

        decomposed.StatusCode.Should().Be(HttpStatusCode.OK);
        (await decomposed.Content.ReadAsStringAsync()).Should().Be(await composed.Content.ReadAsStringAsync());
        SqliteRows.ReadAll(_database).Should().ContainSingle().Which.Email.Should().Be("caf\u00e9@hillvalley.edu");
    }

    [Theory]
    [InlineData("text/plain")] // what a cross-site form or fetch may send without a CORS preflight
    [InlineData("text/plain; charset=utf-8")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/jsonp")]
    [InlineData(null)]
    public async Task Identify_ContentTypeNotJson_Returns415ProblemAndWritesNothing(string? contentType)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"email":"lorraine@hillvalley.edu","phoneNumber":"123456"}"""));
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType).Should().BeTrue();
        }

        using var response = await _client.PostAsync(new Uri("/identify", UriKind.Relative), content);

        response.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await ReadJsonAsync(response)).GetProperty("status").GetInt32().Should().Be(415);
        SqliteRows.ReadAll(_database).Should().BeEmpty();
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("Application/JSON; Charset=\"UTF-8\"")]
    public async Task Identify_JsonContentType_IsAccepted(string contentType)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"email":"lorraine@hillvalley.edu"}"""));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType).Should().BeTrue();

        using var response = await _client.PostAsync(new Uri("/identify", UriKind.Relative), content);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Identify_BodyOverTheLimit_Returns413AndWritesNothing()
    {
        using var response = await PostAsync("{\"email\":\"" + new string('a', 20_000) + "@hillvalley.edu\"}");

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        SqliteRows.ReadAll(_database).Should().BeEmpty();
    }

    [Fact]
    public async Task Identify_InvalidValue_ProblemDoesNotEchoTheValue()
    {
        using var response = await PostAsync("""{"email":"secret-person.example.org","phoneNumber":"12ab"}""");

        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        text.Should().NotContain("secret-person").And.NotContain("12ab");
    }

    [Fact]
    public async Task Identify_64ParallelRequestsForOneNewPerson_CreateOnePrimary()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
        {
            using var response = await PostAsync("""{"email":"marty@hillvalley.edu","phoneNumber":"555"}""");
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            return await response.Content.ReadAsStringAsync();
        }));

        responses.Distinct().Should().Equal(
            """{"contact":{"primaryContactId":1,"emails":["marty@hillvalley.edu"],"phoneNumbers":["555"],"secondaryContactIds":[]}}""");
        SqliteRows.ReadAll(_database).Should().ContainSingle();
    }

    [Fact]
    public async Task Identify_RandomParallelRequests_KeepTheGraphInvariants()
    {
        var random = new Random(20230401);
        var requests = Enumerable.Range(0, 240)
            .Select(_ => random.Next(3) switch
            {
                0 => ((string?)$"p{random.Next(40)}@hillvalley.edu", (string?)null),
                1 => (null, (string?)$"{100 + random.Next(40)}"),
                _ => ($"p{random.Next(40)}@hillvalley.edu", $"{100 + random.Next(40)}"),
            })
            .ToList();

        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (request, cancellationToken) =>
        {
            var body = JsonSerializer.Serialize(new Dictionary<string, string?> { ["email"] = request.Item1, ["phoneNumber"] = request.Item2 });
            using var response = await PostAsync(body, cancellationToken);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            var contact = (await ReadJsonAsync(response)).GetProperty("contact");
            if (request.Item1 is { } email)
            {
                contact.GetProperty("emails").EnumerateArray().Select(e => e.GetString()).Should().Contain(email);
            }

            // With an email, the phone is set aside (and the header says so) when it would take the person past a limit.
            if (request.Item2 is { } phone)
            {
                var setAside = response.Headers.TryGetValues("Identify-Set-Aside", out var values) ? string.Join(", ", values) : null;
                if (setAside is null)
                {
                    contact.GetProperty("phoneNumbers").EnumerateArray().Select(p => p.GetString()).Should().Contain(phone);
                }
                else
                {
                    request.Item1.Should().NotBeNull("a request with one identifier is never limited");
                    setAside.Should().BeOneOf("phoneNumber;reason=email-limit", "phoneNumber;reason=phone-number-limit");
                }
            }
        });

        GraphInvariants.AssertHold(SqliteRows.ReadAll(_database), requests, new IdentityReconciliationOptions());
    }

    private async Task<HttpResponseMessage> PostAsync(string body, CancellationToken cancellationToken = default)
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await _client.PostAsync(new Uri("/identify", UriKind.Relative), content, cancellationToken);
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }
}
