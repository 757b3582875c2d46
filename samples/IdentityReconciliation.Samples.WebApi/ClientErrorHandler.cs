using Microsoft.AspNetCore.Diagnostics;

namespace IdentityReconciliation.Samples.WebApi;

/// <summary>
/// A request the client got wrong (a body that arrives too slowly, a malformed chunked body, a header Kestrel refuses
/// once the request has started) is answered with its own 4xx status as <c>application/problem+json</c> and logged at
/// Debug without the exception: a thousand slow clients must not fill the log with stack traces. Handling it here also
/// keeps ASP.NET Core's exception handler from logging it as an error (.NET 10 suppresses the diagnostics of an
/// exception an <see cref="IExceptionHandler"/> handled). A client that resets the connection mid-body gets its connection
/// aborted and one Debug line. Anything else is a server error and is left to the default handling.
/// </summary>
internal sealed class ClientErrorHandler(ILoggerFactory loggerFactory) : IExceptionHandler
{
    private readonly ILogger _logger = loggerFactory.CreateLogger(Log.Category);

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is IOException && exception is not BadHttpRequestException)
        {
            // The client reset the connection while its body was being read (Kestrel's ConnectionResetException), and
            // RequestAborted may not be signalled yet. Nobody is left to answer: abort the connection, so that Kestrel
            // does not try to drain a body reader the failed read left in use (it logs that as an error), and log the
            // method only.
            Log.ClientGone(_logger, httpContext.Request.Method);
            httpContext.Abort();
            return true;
        }

        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }

        // Kestrel's message, like the path, may quote what the client sent: only the method and the status are logged.
        Log.ClientError(_logger, httpContext.Request.Method, bad.StatusCode);
        if (!httpContext.Response.HasStarted)
        {
            await TypedResults.Problem(
                statusCode: bad.StatusCode,
                title: "The request could not be read.",
                detail: bad.StatusCode == StatusCodes.Status408RequestTimeout
                    ? "The request body arrived too slowly."
                    : "The request is malformed.").ExecuteAsync(httpContext);
        }

        return true;
    }
}
