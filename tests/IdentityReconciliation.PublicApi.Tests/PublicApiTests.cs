using System.Reflection;
using IdentityReconciliation.Providers;

namespace IdentityReconciliation.PublicApi.Tests;

/// <summary>
/// The exported API of each package, compared with a checked-in text file, so that every API change is deliberate
/// (in place of PublicApiAnalyzers, which is not available here). To accept a change, run the tests with
/// IDR_ACCEPT_API=1 and commit the updated file under Approved/.
/// </summary>
public sealed class PublicApiTests
{
    public static TheoryData<string> Packages() => new() { "IdentityReconciliation.Core", "IdentityReconciliation.Providers", "IdentityReconciliation.PostgreSql" };

    [Theory]
    [MemberData(nameof(Packages))]
    public void PublicApi_MatchesTheApprovedFile(string package)
    {
        var assembly = package switch
        {
            "IdentityReconciliation.Core" => typeof(IIdentityReconciler).Assembly,
            "IdentityReconciliation.PostgreSql" => typeof(IdentityReconciliation.PostgreSql.PostgreSqlContactStore).Assembly,
            _ => typeof(IIdentityMatchProvider).Assembly,
        };
        var actual = PublicApiGenerator.Generate(assembly);
        var approvedPath = Path.Combine(ApprovedFolder(), package + ".txt");
        var receivedPath = Path.ChangeExtension(approvedPath, ".received.txt");

        if (Environment.GetEnvironmentVariable("IDR_ACCEPT_API") == "1")
        {
            File.WriteAllText(approvedPath, actual);
        }

        var approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).ReplaceLineEndings("\n") : "";
        if (approved != actual)
        {
            File.WriteAllText(receivedPath, actual);
        }
        else if (File.Exists(receivedPath))
        {
            File.Delete(receivedPath);
        }

        actual.Should().Be(approved, $"the public API of {package} changed: compare {receivedPath} with {approvedPath}, and if the change is intended run the tests with IDR_ACCEPT_API=1 and commit the file");
    }

    [Fact]
    public void Generate_SeesMembersAndNullability()
    {
        // The generator itself must be able to see what it is meant to guard.
        var api = PublicApiGenerator.Generate(typeof(IIdentityReconciler).Assembly);

        api.Should().Contain("System.Threading.Tasks.Task<IdentityReconciliation.ContactCluster?> FindAsync(IdentityReconciliation.IdentifyRequest request, System.Threading.CancellationToken cancellationToken = default)");
        api.Should().Contain("public sealed record IdentityReconciliation.IdentifyRequest");
        api.Should().NotContain("ContactRow", "private types are not public API");
        api.Should().NotContain("SqliteContactStoreOptionsValidator", "internal types are not public API");
    }

    /// <summary>
    /// The checked-in Approved folder, found from the test's output folder (source paths are mapped away in CI builds,
    /// so the caller's file path cannot be used).
    /// </summary>
    private static string ApprovedFolder()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "IdentityReconciliation.PublicApi.Tests", "Approved");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"No tests/IdentityReconciliation.PublicApi.Tests/Approved folder above {AppContext.BaseDirectory}.");
    }
}
