namespace IdentityReconciliation.Samples.WebApi;

/// <summary>How the sample's host is created, wherever it is started from.</summary>
internal static class SampleHosting
{
    /// <summary>
    /// The host's options: the content root (where appsettings.json is read from) is the app's own folder,
    /// <see cref="AppContext.BaseDirectory"/>, unless one is given (<c>--contentRoot</c>, <c>ASPNETCORE_CONTENTROOT</c>,
    /// <c>DOTNET_CONTENTROOT</c>), so that <c>dotnet path/to/IdentityReconciliation.Samples.WebApi.dll</c> started from any
    /// folder still loads its settings. The working directory still decides where a relative SQLite file is.
    /// </summary>
    public static WebApplicationOptions Options(string[] args)
    {
        var given = new ConfigurationBuilder()
            .AddEnvironmentVariables("DOTNET_")
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddCommandLine(args)
            .Build()[HostDefaults.ContentRootKey];
        return new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = string.IsNullOrEmpty(given) ? AppContext.BaseDirectory : null,
        };
    }
}
