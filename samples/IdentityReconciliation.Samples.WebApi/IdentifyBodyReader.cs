using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace IdentityReconciliation.Samples.WebApi;

/// <summary>
/// Reads the body that <c>POST /identify</c> and <c>POST /erase</c> share, <c>{"email": string|null, "phoneNumber":
/// string|number|null}</c>, by hand rather than through the framework's binding, so that every way it can be wrong gets
/// the same answer on both: not <c>application/json</c> → 415 (a cross-site page can make a browser send a
/// <c>text/plain</c>, form or multipart body without a CORS preflight, but not a JSON one); larger than
/// <see cref="IdentifyEndpoint.MaxBodyBytes"/> → 413; malformed JSON or a wrong type → 400 naming the field.
/// </summary>
internal static class IdentifyBodyReader
{
    /// <summary>What <see cref="ReadAsync"/> found: the body, or the response that refuses it (exactly one is set).</summary>
    internal readonly record struct Read(IdentifyBody? Body, ValidationProblem? Invalid, ProblemHttpResult? Refused);

    /// <param name="request">The request whose body to read.</param>
    /// <param name="path">The endpoint's path, for the 413 message.</param>
    /// <param name="cancellationToken">The request's cancellation.</param>
    public static async Task<Read> ReadAsync(HttpRequest request, string path, CancellationToken cancellationToken)
    {
        if (!IsJson(request.ContentType))
        {
            return new Read(null, null, TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "The request body must be JSON.",
                detail: "Send the body with Content-Type: application/json (UTF-8)."));
        }

        if (request.ContentLength > IdentifyEndpoint.MaxBodyBytes)
        {
            return new Read(null, null, TooLarge(path));
        }

        // A body without a Content-Length (chunked) is cut off by the server at the same size.
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
            return new Read(null, null, TooLarge(path));
        }
        catch (JsonException ex)
        {
            // The exception's own message may quote the body; the response describes the expected shape instead.
            return new Read(null, IdentifyEndpoint.FieldOf(ex.Path) switch
            {
                "email" => IdentifyEndpoint.Problem("email", IdentifyEndpoint.EmailTypeMessage),
                "phoneNumber" => IdentifyEndpoint.Problem("phoneNumber", IdentifyEndpoint.PhoneNumberTypeMessage),
                _ => IdentifyEndpoint.Problem("request", IdentifyEndpoint.BodyMessage),
            }, null);
        }

        return body is null
            ? new Read(null, IdentifyEndpoint.Problem("request", IdentifyEndpoint.BodyMessage), null)
            : new Read(body, null, null);
    }

    /// <summary><c>application/json</c>, in any letter case, with no charset or UTF-8.</summary>
    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
        && mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        && (!mediaType.Charset.HasValue || HeaderUtilities.RemoveQuotes(mediaType.Charset).Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    private static ProblemHttpResult TooLarge(string path) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "The request body is too large.",
            detail: $"The body of POST {path} is at most {IdentifyEndpoint.MaxBodyBytes} bytes.");
}
