import { Body, Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ThrottlerGuard } from '@nestjs/throttler';
import { ApiErrors } from '@cc/common';
import { Auth, AuthService, AuthUser, ConnectorAllowed, CurrentUser, CustomerSessionDto, LoginDto, OptionalJwtAuthGuard } from '@cc/auth';
import { CustomerSession, LoginResponse, User } from '../../api-docs/schemas.dto';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('login')
  @HttpCode(200)
  @UseGuards(ThrottlerGuard)
  @ApiOperation({ summary: 'Log in as an admin or an agent', description: 'Answers an access token; for an agent, `user.id` is its agent id.' })
  @ApiBody({ type: LoginDto, examples: { admin: { value: { email: 'admin@example.com', password: 'admin' } } } })
  @ApiResponse({ status: 200, type: LoginResponse, description: 'Logged in' })
  @ApiErrors({ 401: 'Invalid email or password (the same message for both)', 429: 'More than HTTP_RATE_LIMIT requests a minute from this address' })
  login(@Body() dto: LoginDto) {
    return this.auth.login(dto);
  }

  @Post('logout')
  @HttpCode(204)
  @Auth()
  @ApiOperation({
    summary: 'Revoke the caller\'s tokens',
    description: 'This token and every earlier token of the user are refused from now on (HTTP and new handshakes); the user\'s open sockets are disconnected.',
  })
  @ApiResponse({ status: 204, description: 'Logged out' })
  logout(@CurrentUser() user: AuthUser) {
    return this.auth.logout(user);
  }

  @Get('me')
  @Auth()
  @ApiOperation({ summary: 'The caller (admin, agent or customer)' })
  @ApiResponse({ status: 200, type: User })
  me(@CurrentUser() user: AuthUser) {
    return this.auth.me(user);
  }
}

@ApiTags('customers')
@Controller('customers')
export class CustomersController {
  constructor(private readonly auth: AuthService) {}

  @Post('session')
  @ConnectorAllowed()
  @UseGuards(ThrottlerGuard, OptionalJwtAuthGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Start a customer session (widget or connector)',
    description:
      'No auth needed. Without `externalId`: a new anonymous customer. With `externalId`: that customer (created when new), and ' +
      '`identityHash` must be hex HMAC-SHA256(externalId, CUSTOMER_IDENTITY_SECRET). An admin token may omit the hash (channel connectors).',
  })
  @ApiBody({
    type: CustomerSessionDto,
    examples: { anonymous: { value: { name: 'Ann' } }, identified: { value: { externalId: 'crm-42', name: 'Ann', identityHash: '<64 hex characters>' } } },
  })
  @ApiResponse({ status: 201, type: CustomerSession, description: 'Session created' })
  @ApiErrors({ 401: 'Missing or wrong identityHash for externalId, or a bad token', 403: 'A non-admin token was sent', 429: 'More than HTTP_RATE_LIMIT requests a minute from this address' })
  session(@Body() dto: CustomerSessionDto, @Req() request: { user?: AuthUser }) {
    return this.auth.customerSession(dto, request.user);
  }
}
