using System.Text.Json;
using IdentityReconciliation;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace IdentityReconciliation.Samples.WebApi;

/// <summary>
/// <c>POST /erase</c>: the same body as <c>/identify</c> (<c>{"email": string|null, "phoneNumber": string|number|null}</c>,
/// so that no personal data travels in the URL) → <c>200 {"erasedContactIds":[…],"changedContactIds":[…],"persons":[…]}</c>;
/// a bad body or value → <c>400 application/problem+json</c> naming the field, and nothing is erased.
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
        CancellationToken cancellationToken)
    {
        if (request.ContentLength > IdentifyEndpoint.MaxBodyBytes)
        {
            return TooLarge();
        }

        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = IdentifyEndpoint.MaxBodyBytes;
        }

        IdentifyBody? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(request.Body, WebApiJsonContext.Default.IdentifyBody, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge();
        }
        catch (JsonException ex)
        {
            // As for /identify: the exception's message may quote the body, so the response describes the expected shape.
            return IdentifyEndpoint.FieldOf(ex.Path) switch
            {
                "email" => IdentifyEndpoint.Problem("email", IdentifyEndpoint.EmailTypeMessage),
                "phoneNumber" => IdentifyEndpoint.Problem("phoneNumber", IdentifyEndpoint.PhoneNumberTypeMessage),
                _ => IdentifyEndpoint.Problem("request", IdentifyEndpoint.BodyMessage),
            };
        }

        if (body is null)
        {
            return IdentifyEndpoint.Problem("request", IdentifyEndpoint.BodyMessage);
        }

        try
        {
            return TypedResults.Ok(await reconciler.EraseAsync(new IdentifyRequest(body.Email, body.PhoneNumber), cancellationToken));
        }
        catch (InvalidIdentifyRequestException ex)
        {
            return IdentifyEndpoint.Problem(ex);
        }
    }

    private static ProblemHttpResult TooLarge() =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "The request body is too large.",
            detail: $"The body of POST /erase is at most {IdentifyEndpoint.MaxBodyBytes} bytes.");
}
