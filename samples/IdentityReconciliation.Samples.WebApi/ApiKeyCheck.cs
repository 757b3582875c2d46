using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace IdentityReconciliation.Samples.WebApi;

/// <summary>The <c>Authentication</c> settings: the API keys that may call <c>POST /identify</c>.</summary>
internal sealed class ApiKeyOptions
{
    /// <summary>The request header that carries the key.</summary>
    public const string HeaderName = "X-Api-Key";

    /// <summary>The shortest key accepted: a shorter one could be guessed.</summary>
    public const int MinimumLength = 16;

    /// <summary>The accepted keys (<c>Authentication:ApiKeys:0</c>, <c>:1</c>, ... — several, so that keys can be rotated). None: the check is off.</summary>
    public List<string> ApiKeys { get; set; } = [];
}

/// <summary>Fails start-up when a configured key is too short; the message names the setting, never the key.</summary>
internal sealed class ApiKeyOptionsValidator : IValidateOptions<ApiKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiKeyOptions options)
    {
        var failures = options.ApiKeys
            .Select((key, index) => (key, index))
            .Where(k => !string.IsNullOrWhiteSpace(k.key) && k.key.Length < ApiKeyOptions.MinimumLength)
            .Select(k => $"Authentication:ApiKeys:{k.index} must be at least {ApiKeyOptions.MinimumLength} characters long.")
            .ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// Checks the <c>X-Api-Key</c> header against the configured keys in constant time: the configured keys are kept only
/// as SHA-256 hashes of their UTF-8 bytes, the presented key is hashed the same way, and the equal-length hashes are
/// compared with <see cref="CryptographicOperations.FixedTimeEquals"/>, every one of them, so that neither a key's
/// length nor how much of it matched shows in the response time.
/// </summary>
internal sealed class ApiKeyCheck
{
    private readonly byte[][] _hashes;

    public ApiKeyCheck(IOptions<ApiKeyOptions> options)
    {
        _hashes = [.. options.Value.ApiKeys.Where(k => !string.IsNullOrWhiteSpace(k)).Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))];
    }

    /// <summary>Whether any key is configured; without one, every request is let through.</summary>
    public bool Enabled => _hashes.Length > 0;

    public bool IsValid(StringValues presented)
    {
        if (presented.Count != 1 || string.IsNullOrEmpty(presented[0]))
        {
            return false;
        }

        var key = presented[0]!;
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(key.Length));
        try
        {
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer.AsSpan(0, Encoding.UTF8.GetBytes(key, buffer)), hash);
            var match = false;
            foreach (var expected in _hashes)
            {
                match |= CryptographicOperations.FixedTimeEquals(expected, hash);
            }

            return match;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }
}

/// <summary>Answers <c>401 application/problem+json</c> to a request without a valid key, when keys are configured.</summary>
internal sealed class ApiKeyFilter(ApiKeyCheck check, ILoggerFactory loggerFactory) : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        if (!check.Enabled || check.IsValid(http.Request.Headers[ApiKeyOptions.HeaderName]))
        {
            return next(context);
        }

        Log.ApiKeyRejected(loggerFactory.CreateLogger(Log.Category), http.Request.Headers.ContainsKey(ApiKeyOptions.HeaderName));
        http.Response.Headers.WWWAuthenticate = $"ApiKey header=\"{ApiKeyOptions.HeaderName}\"";
        return ValueTask.FromResult<object?>(TypedResults.Problem(
            statusCode: StatusCodes.Status401Unauthorized,
            title: "A valid API key is required.",
            detail: $"Send one of the configured keys in the {ApiKeyOptions.HeaderName} header."));
    }
}

internal static class ApiKeyCheckExtensions
{
    /// <summary>Binds <c>Authentication:ApiKeys</c>, validated at start-up, and registers the check.</summary>
    public static IServiceCollection AddApiKeyCheck(this IServiceCollection services, IConfiguration section)
    {
        services.AddOptions<ApiKeyOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ApiKeyOptions>, ApiKeyOptionsValidator>();
        services.AddSingleton<ApiKeyCheck>();
        return services;
    }

    /// <summary>Says at start-up that <c>POST /identify</c> and the change-feed endpoints are open to anyone, when no key is configured.</summary>
    public static void WarnIfOpen(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<ApiKeyCheck>().Enabled)
        {
            Log.NoApiKey(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(Log.Category), ApiKeyOptions.HeaderName);
        }
    }
}
