using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using IdentityReconciliation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace IdentityReconciliation.Samples.WebApi;

/// <summary>
/// <c>POST /identify</c>: <c>{"email": string|null, "phoneNumber": string|number|null}</c> → <c>200 {"contact":{…}}</c>;
/// malformed JSON, a wrong type, an invalid value or only placeholder values → <c>400 application/problem+json</c> whose
/// <c>errors</c> name the field (<c>email</c>, <c>phoneNumber</c>, or <c>request</c> for the body as a whole). Nothing is
/// written on a 400. Identifiers the guards set aside are listed in the <see cref="SetAsideHeader"/> response header, so
/// that the body keeps the product's shape.
/// A body that is not <c>application/json</c> → <c>415 application/problem+json</c>.
/// A busy store → <c>503 application/problem+json</c> with <c>Retry-After</c>; nothing is written, the client may retry.
/// </summary>
internal static class IdentifyEndpoint
{
    /// <summary>
    /// The response header that lists the request's identifiers that were not used, as a structured-field list (RFC 9651):
    /// <c>Identify-Set-Aside: phoneNumber;reason=blocked</c>, or <c>email;reason=email-limit</c>. It names fields and
    /// reasons only, never values. Absent when both identifiers were used.
    /// </summary>
    public const string SetAsideHeader = "Identify-Set-Aside";

    public const string EmailTypeMessage = "email must be a JSON string or null.";

    public const string PhoneNumberTypeMessage = "phoneNumber must be a JSON string, a whole number, or null.";

    /// <summary>The largest body accepted: a request is two identifiers of at most a few hundred characters.</summary>
    public const int MaxBodyBytes = 16 * 1024;

    public const string BodyMessage = "The request body must be a JSON object: {\"email\": string|null, \"phoneNumber\": string|number|null}.";

    /// <summary>
    /// The request body is read by hand, not bound by the framework, so that a JSON error becomes a problem response
    /// naming the field instead of a bare 400.
    /// </summary>
    public static async Task<Results<Ok<IdentifyResponse>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        HttpRequest request,
        IIdentityReconciler reconciler,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        var read = await IdentifyBodyReader.ReadAsync(request, "/identify", cancellationToken);
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
            var result = await reconciler.IdentifyDetailedAsync(new IdentifyRequest(body.Email, body.PhoneNumber), cancellationToken);
            if (result.SetAside.Count > 0)
            {
                request.HttpContext.Response.Headers.Append(SetAsideHeader, string.Join(", ", result.SetAside.Select(FormatSetAside)));
            }

            return TypedResults.Ok(new IdentifyResponse(result.Contact));
        }
        catch (InvalidIdentifyRequestException ex)
        {
            return Problem(ex);
        }
        catch (ContactStoreBusyException ex)
        {
            return Busy(request, loggerFactory, ex);
        }
    }

    /// <summary>
    /// A busy store (<see cref="ContactStoreBusyException"/>): <c>503 application/problem+json</c> with <c>Retry-After</c>.
    /// Worth retrying: nothing was written. The message names no identifier, but the problem stays generic.
    /// </summary>
    internal static ProblemHttpResult Busy(HttpRequest request, ILoggerFactory loggerFactory, ContactStoreBusyException exception)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(exception.RetryAfter.TotalSeconds));
        Log.StoreBusy(loggerFactory.CreateLogger(Log.Category), exception.InnerException?.GetType().Name ?? nameof(ContactStoreBusyException), seconds);
        request.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Problem(
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "The contact store is busy.",
            detail: "Nothing was written. Try again after the number of seconds in the Retry-After header.");
    }

    /// <summary>Puts the source-generated metadata first, so that the endpoint's types never use reflection.</summary>
    public static void ConfigureJson(JsonSerializerOptions options)
    {
        options.TypeInfoResolverChain.Insert(0, WebApiJsonContext.Default);

        // Phone numbers such as "+15550101" stay readable; the responses are JSON documents, never embedded in HTML.
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
    }

    internal static ValidationProblem Problem(string field, string message) =>
        TypedResults.ValidationProblem(
            new Dictionary<string, string[]> { [field] = [message] },
            title: "The request is invalid.",
            detail: $"{field}: {message}");

    /// <summary>
    /// The problem for a request the library rejected: as <see cref="Problem(string, string)"/>, plus a <c>reason</c> member
    /// a client can act on (<c>blocked</c>, <c>malformed-email</c>...; see <see cref="InvalidIdentifyRequestReason"/>).
    /// </summary>
    internal static ValidationProblem Problem(InvalidIdentifyRequestException exception)
    {
        var field = exception.ParamName ?? "request";
        var message = WithoutParameterName(exception);
        return TypedResults.ValidationProblem(
            new Dictionary<string, string[]> { [field] = [message] },
            title: "The request is invalid.",
            detail: $"{field}: {message}",
            extensions: new Dictionary<string, object?> { ["reason"] = ReasonName(exception.Reason) });
    }

    /// <summary>The <c>reason</c> member of a rejected request's problem: the reason's name in kebab case.</summary>
    internal static string ReasonName(InvalidIdentifyRequestReason reason) => reason switch
    {
        InvalidIdentifyRequestReason.MissingIdentifier => "missing-identifier",
        InvalidIdentifyRequestReason.InvisibleCharacter => "invisible-character",
        InvalidIdentifyRequestReason.InvalidText => "invalid-text",
        InvalidIdentifyRequestReason.TooLong => "too-long",
        InvalidIdentifyRequestReason.MalformedEmail => "malformed-email",
        InvalidIdentifyRequestReason.MalformedPhoneNumber => "malformed-phone-number",
        InvalidIdentifyRequestReason.Blocked => "blocked",
        _ => "unspecified",
    };

    private static string FormatSetAside(SetAsideIdentifier identifier)
    {
        var field = identifier.Kind == ContactIdentifierKind.Email ? "email" : "phoneNumber";
        var reason = identifier.Reason switch
        {
            SetAsideReason.Blocked => "blocked",
            SetAsideReason.EmailLimit => "email-limit",
            _ => "phone-number-limit",
        };
        return $"{field};reason={reason}";
    }

    /// <summary>Maps a JSON path such as <c>$.phoneNumber</c> to the field it names; anything else is the request as a whole.</summary>
    internal static string FieldOf(string? path) => path switch
    {
        not null when path.StartsWith("$.email", StringComparison.OrdinalIgnoreCase) => "email",
        not null when path.StartsWith("$.phoneNumber", StringComparison.OrdinalIgnoreCase) => "phoneNumber",
        _ => "request",
    };

    internal static string WithoutParameterName(ArgumentException exception)
    {
        var suffix = $" (Parameter '{exception.ParamName}')";
        return exception.Message.EndsWith(suffix, StringComparison.Ordinal) ? exception.Message[..^suffix.Length] : exception.Message;
    }
}
