using IdentityReconciliation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace IdentityReconciliation.Samples.WebApi;

/// <summary>
/// <c>POST /erase</c>: the same body as <c>/identify</c> (<c>{"email": string|null, "phoneNumber": string|number|null}</c>,
/// so that no personal data travels in the URL) → <c>200 {"erasedContactIds":[…],"changedContactIds":[…],"persons":[…]}</c>;
/// a bad body or value → <c>400 application/problem+json</c> naming the field, a body that is not <c>application/json</c>
/// → 415, a busy store → 503 with <c>Retry-After</c>; nothing is erased on any of them.
/// </summary>
/// <remarks>
/// Erasure is destructive and this sample has no authentication: the endpoint is mapped only when
/// <see cref="EnabledSetting"/> is <see langword="true"/> in configuration. A real service puts it behind authorisation.
/// </remarks>
internal static class EraseEndpoint
{
    /// <summary>The configuration key that maps the endpoint (off unless set to <c>true</c>).</summary>
    public const string EnabledSetting = "Erasure:Enabled";

    /// <summary>Maps <c>POST /erase</c> when <see cref="EnabledSetting"/> is on.</summary>
    public static void MapIfEnabled(WebApplication app)
    {
        if (app.Configuration.GetValue<bool>(EnabledSetting))
        {
            app.MapPost("/erase", HandleAsync).AddEndpointFilter<ApiKeyFilter>();
        }
    }

    public static async Task<Results<Ok<ErasureResult>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        HttpRequest request,
        IIdentityReconciler reconciler,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        var read = await IdentifyBodyReader.ReadAsync(request, "/erase", cancellationToken);
        if (read.Refused is { } refused)
        {
            return refused;
        }

        if (read.Invalid is { } invalid)
        {
            return invalid;
        }

        var body = read.Body!;
        try
        {
            return TypedResults.Ok(await reconciler.EraseAsync(new IdentifyRequest(body.Email, body.PhoneNumber), cancellationToken));
        }
        catch (InvalidIdentifyRequestException ex)
        {
            return IdentifyEndpoint.Problem(ex);
        }
        catch (ContactStoreBusyException ex)
        {
            return IdentifyEndpoint.Busy(request, loggerFactory, ex);
        }
    }
}
