using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: TestFramework("IdentityReconciliation.PostgreSql.Tests.Support.PostgreSqlTestFramework", "IdentityReconciliation.PostgreSql.Tests")]

namespace IdentityReconciliation.PostgreSql.Tests.Support;

/// <summary>
/// Marks a test class whose tests need a PostgreSQL server. When <see cref="PostgreSqlServer.Variable"/> is not set, every
/// test of the class, including the [Fact]s it inherits from <c>ContactStoreContractTests</c>, is reported as skipped with
/// <see cref="PostgreSqlServer.HowToRun"/>; never silently green. xunit 2 has no dynamic skip, so the test framework below
/// swaps the discovered test cases for skipped ones.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class RequiresPostgreSqlAttribute : Attribute;

/// <summary>The xunit test framework of this assembly: xunit's own, with <see cref="PostgreSqlSkippingDiscoverer"/>.</summary>
public sealed class PostgreSqlTestFramework(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    protected override ITestFrameworkDiscoverer CreateDiscoverer(IAssemblyInfo assemblyInfo) =>
        new PostgreSqlSkippingDiscoverer(assemblyInfo, SourceInformationProvider, DiagnosticMessageSink);
}

/// <summary>Discovers tests as xunit does, except that tests of [RequiresPostgreSql] classes become skipped test cases when no server is configured.</summary>
public sealed class PostgreSqlSkippingDiscoverer(IAssemblyInfo assemblyInfo, ISourceInformationProvider sourceProvider, IMessageSink diagnosticMessageSink)
    : XunitTestFrameworkDiscoverer(assemblyInfo, sourceProvider, diagnosticMessageSink)
{
    protected override bool FindTestsForMethod(ITestMethod testMethod, bool includeSourceInformation, IMessageBus messageBus, ITestFrameworkDiscoveryOptions discoveryOptions)
    {
        if (PostgreSqlServer.SkipReason is null
            || !testMethod.TestClass.Class.GetCustomAttributes(typeof(RequiresPostgreSqlAttribute)).Any()
            || !testMethod.Method.GetCustomAttributes(typeof(FactAttribute)).Any())
        {
            return base.FindTestsForMethod(testMethod, includeSourceInformation, messageBus, discoveryOptions);
        }

        var testCase = new PostgreSqlSkippedTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
        return ReportDiscoveredTestCase(testCase, includeSourceInformation, messageBus);
    }
}

/// <summary>A test case that is always skipped with <see cref="PostgreSqlServer.HowToRun"/>.</summary>
public sealed class PostgreSqlSkippedTestCase : XunitTestCase
{
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public PostgreSqlSkippedTestCase()
    {
    }

    public PostgreSqlSkippedTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay defaultMethodDisplay, TestMethodDisplayOptions defaultMethodDisplayOptions, ITestMethod testMethod)
        : base(diagnosticMessageSink, defaultMethodDisplay, defaultMethodDisplayOptions, testMethod)
    {
    }

    protected override string GetSkipReason(IAttributeInfo factAttribute) => PostgreSqlServer.HowToRun;
}
