import { Body, Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ThrottlerGuard } from '@nestjs/throttler';
import { Auth, AuthService, ConnectorAllowed, AuthUser, CurrentUser, CustomerSessionDto, LoginDto, OptionalJwtAuthGuard } from '@cc/auth';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('login')
  @HttpCode(200)
  @UseGuards(ThrottlerGuard)
  login(@Body() dto: LoginDto) {
    return this.auth.login(dto);
  }

  @Post('logout')
  @HttpCode(204)
  @Auth()
  logout(@CurrentUser() user: AuthUser) {
    return this.auth.logout(user);
  }

  @Get('me')
  @Auth()
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
  session(@Body() dto: CustomerSessionDto, @Req() request: { user?: AuthUser }) {
    return this.auth.customerSession(dto, request.user);
  }
}
