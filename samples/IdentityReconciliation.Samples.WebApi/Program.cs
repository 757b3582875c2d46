// A Bitespeed-compatible identity reconciliation service: POST /identify and GET /healthz over an SQLite file.
using IdentityReconciliation.Samples.WebApi;

// appsettings.json is read from the app's own folder, wherever the app is started from (see SampleHosting).
var builder = WebApplication.CreateBuilder(SampleHosting.Options(args));

// The store's options from IdentityReconciliation:Sqlite (BusyTimeout, Synchronous, MaxBatchSize, ...); the usual
// ConnectionStrings:Contacts, when set, names the database file.
var reconciliation = builder.Services.AddIdentityReconciliation().UseSqlite(builder.Configuration.GetSection("IdentityReconciliation:Sqlite"));
if (builder.Configuration.GetConnectionString("Contacts") is { Length: > 0 } contacts)
{
    reconciliation.UseSqlite(options => options.ConnectionString = contacts);
}

builder.Services.ConfigureHttpJsonOptions(options => IdentifyEndpoint.ConfigureJson(options.SerializerOptions));
builder.Services.AddProblemDetails();
builder.Services.AddHealthChecks().AddIdentityReconciliation();

var app = builder.Build();

app.UseExceptionHandler(new ExceptionHandlerOptions
{
    // A client's malformed request (too large, aborted) keeps its 4xx status instead of becoming a 500.
    StatusCodeSelector = exception => exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
});

app.MapPost("/identify", IdentifyEndpoint.HandleAsync);
app.MapHealthChecks("/healthz");

app.Run();

/// <summary>The entry point, public so that integration tests can start the app with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
