using System.Net;
using IdentityReconciliation.Samples.Tests.Support;

namespace IdentityReconciliation.Samples.Tests;

/// <summary><c>GET /healthz</c> reports whether the contact store answers.</summary>
public sealed class HealthApiTests
{
    [Fact]
    public async Task Healthz_StoreAnswers_Returns200()
    {
        using var database = new TempDatabase();
        await using var factory = new SampleApiFactory(database);
        using var client = factory.CreateClient();

        using var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Be("Healthy");
    }

    [Fact]
    public async Task Healthz_DatabaseCannotBeOpened_Returns503()
    {
        using var database = new TempDatabase();

        // The "file" is a folder: SQLite cannot open it as a database.
        await using var factory = new SampleApiFactory($"Data Source={database.Folder}");
        using var client = factory.CreateClient();

        using var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await response.Content.ReadAsStringAsync()).Should().Be("Unhealthy");
    }
}
